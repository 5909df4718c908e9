"""A circuit breaker for a stage that may fail or run late. Pure: fed the time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

BreakerState = Literal["closed", "open", "half_open"]


@dataclass
class CircuitBreaker:
    """Opens after ``failures`` consecutive failures, for ``cooldown_s`` seconds.

    While open, :meth:`allow` says no and the turn goes on without the stage.
    After the cool-down one trial call is let through (half open): a success
    closes the breaker, a failure opens it again.
    """

    failures: int = 3
    cooldown_s: float = 30.0
    _consecutive: int = 0
    _opened_at: float | None = None
    _trial: bool = False
    opened_count: int = 0

    def state(self, now: float) -> BreakerState:
        """Current state at ``now`` (seconds, any monotonic origin)."""
        if self._opened_at is None:
            return "closed"
        if now - self._opened_at >= self.cooldown_s:
            return "half_open"
        return "open"

    def allow(self, now: float) -> bool:
        """Whether the stage may run now (a half-open breaker lets one trial through)."""
        state = self.state(now)
        if state == "closed":
            return True
        if state == "half_open" and not self._trial:
            self._trial = True
            return True
        return False

    def success(self) -> None:
        """The stage answered in time."""
        self._consecutive = 0
        self._opened_at = None
        self._trial = False

    def release(self) -> None:
        """A call let through did not run (no verdict): a half-open breaker may let another trial through."""
        self._trial = False

    def failure(self, now: float) -> None:
        """The stage failed or ran past its budget."""
        self._consecutive += 1
        if self._trial or self._consecutive >= self.failures:
            self._opened_at = now
            self.opened_count += 1
        self._trial = False
