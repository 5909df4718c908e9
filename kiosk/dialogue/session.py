"""Conversation state the engine keeps between turns."""

from __future__ import annotations

from dataclasses import dataclass, field

from kiosk.dialogue.limits import SideEffectBudget


@dataclass(slots=True)
class FlowState:
    """A service flow in progress, waiting for a detail (slot)."""

    name: str
    asks: int = 0


@dataclass(slots=True)
class SideEffects:
    """Side effects a conversation has raised so far (bounded per session by the policy's thresholds)."""

    handoffs: int = 0
    risk_alerts: int = 0
    tickets: int = 0


@dataclass(slots=True)
class DialogueSession:
    """One customer's conversation.

    Attributes:
        id: Session id.
        lang: The customer's language so far (``zh`` or ``en``).
        flow: The flow waiting for a detail, if any.
        misses: Consecutive turns the engine did not understand.
        turns: Turns handled.
        ended: The customer said goodbye or was handed off.
        intents: Intents decided so far, in order (for hand-off summaries).
        closed: Set by the runtime out of opening hours: when the branch opens next, per
            language. While set, no queue ticket is issued; the reply says when it opens.
        effects: Hand-offs, risk alerts and tickets raised so far; past the policy's limits a turn
            still answers but raises nothing new. Kept when a session id starts over.
        budget: The kiosk-wide side-effect budget shared by every session (None: no kiosk-wide limit).
        at: Time of the turn being handled (seconds since the epoch), set by the engine for ``budget``.
    """

    id: str
    lang: str = "zh"
    flow: FlowState | None = None
    misses: int = 0
    turns: int = 0
    ended: bool = False
    intents: list[str] = field(default_factory=list)
    closed: dict[str, str] | None = None
    effects: SideEffects = field(default_factory=SideEffects)
    budget: SideEffectBudget | None = None
    at: float = 0.0
