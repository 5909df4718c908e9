"""A kiosk-wide bound on side effects: hand-offs, risk alerts and queue tickets per time window, across sessions.

Per-session limits (the policy's ``max_*_per_session``) stop one conversation from raising many; they do not stop
someone who starts a new session id for every request. This budget counts every session together. It is pure:
the engine feeds it the turn's time, so tests need no clock.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field

EffectKind: TypeAlias = Literal["handoff", "risk", "ticket"]
EFFECT_KINDS: tuple[EffectKind, ...] = ("handoff", "risk", "ticket")
_MAX_PENDING = 10_000  # refusals kept until drained


class SideEffectLimits(BaseModel):
    """How many side effects the whole kiosk may raise per window (the runtime settings' ``[side_effects]``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    window_s: float = Field(default=60.0, gt=0, le=86_400, description="Length of the sliding window, in seconds.")
    handoffs: int = Field(default=4, ge=0, le=1000, description="Hand-offs to staff per window, all sessions together.")
    risk_alerts: int = Field(
        default=4, ge=0, le=1000, description="Risk alerts to staff per window (the customer is still warned)."
    )
    tickets: int = Field(default=6, ge=0, le=1000, description="Queue tickets printed per window.")

    def limit(self, kind: EffectKind) -> int:
        """The limit of one kind per window."""
        return {"handoff": self.handoffs, "risk": self.risk_alerts, "ticket": self.tickets}[kind]


@dataclass(frozen=True, slots=True)
class Refusal:
    """One side effect the kiosk-wide limit refused."""

    kind: EffectKind
    session_id: str
    at: float
    limit: int
    window_s: float
    first_in_window: bool
    """True for the first refusal of this kind in a window: audited once per window, counted always."""


class SideEffectBudget:
    """Sliding-window counts of side effects across all sessions (thread-safe).

    Args:
        limits: The limits per window.
    """

    def __init__(self, limits: SideEffectLimits | None = None) -> None:
        self.limits = limits or SideEffectLimits()
        self._taken: dict[EffectKind, deque[float]] = {kind: deque() for kind in EFFECT_KINDS}
        self._flagged: dict[EffectKind, float | None] = dict.fromkeys(EFFECT_KINDS)
        self._refusals: list[Refusal] = []
        self._lock = threading.Lock()

    def take(self, kind: EffectKind, session_id: str, at: float) -> bool:
        """Count one side effect at ``at`` (seconds); False, and a recorded refusal, when the window is full."""
        limit, window = self.limits.limit(kind), self.limits.window_s
        with self._lock:
            taken = self._taken[kind]
            if taken and taken[-1] > at:  # the clock stepped back (an offline kiosk's time corrected)
                taken.clear()  # entries "in the future" would otherwise fill the window until it catches up
                self._flagged[kind] = None
            while taken and taken[0] <= at - window:
                taken.popleft()
            if len(taken) < limit:
                taken.append(at)
                return True
            flagged = self._flagged[kind]
            first = flagged is None or at - flagged >= window
            if first:
                self._flagged[kind] = at
            if len(self._refusals) < _MAX_PENDING:
                self._refusals.append(Refusal(kind, session_id, at, limit, window, first))
            return False

    def drain(self) -> list[Refusal]:
        """The refusals since the last call (the caller records them), oldest first."""
        with self._lock:
            out, self._refusals = self._refusals, []
        return out
