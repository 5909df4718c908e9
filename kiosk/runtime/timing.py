"""Pure timing logic of the runtime: restart back-off, branch hours and the idle screen mode.

No clocks are read here; callers pass elapsed time and the local time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Literal

ScreenMode = Literal["serving", "attract", "closed"]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential back-off between restarts of a crashed component.

    Attributes:
        base_s: Delay after the first crash.
        factor: Growth per further crash in a row.
        max_s: Longest delay.
        stable_s: A component that ran this long before crashing starts the count again.
    """

    base_s: float = 0.5
    factor: float = 2.0
    max_s: float = 30.0
    stable_s: float = 60.0

    def delay(self, crashes_in_a_row: int) -> float:
        """Seconds to wait before restarting after ``crashes_in_a_row`` crashes (1 or more).

        Raises:
            ValueError: If ``crashes_in_a_row`` is below 1.
        """
        if crashes_in_a_row < 1:
            raise ValueError("crashes_in_a_row starts at 1")
        return float(min(self.max_s, self.base_s * self.factor ** (crashes_in_a_row - 1)))

    def crashes_after(self, previous: int, ran_s: float) -> int:
        """The crash count after a crash that came ``ran_s`` seconds after the last start."""
        return 1 if ran_s >= self.stable_s else previous + 1


def _span(span: str) -> tuple[time, time]:
    start, end = span.split("-")
    h1, m1 = (int(x) for x in start.split(":"))
    h2, m2 = (int(x) for x in end.split(":"))
    return time(h1, m1), time(h2, m2)


def is_open(days: tuple[str | None, ...], now: datetime) -> bool:
    """Whether the branch is open at local time ``now`` (``days``: 'HH:MM-HH:MM' or None, Monday first).

    Raises:
        ValueError: If ``days`` does not have seven entries.
    """
    if len(days) != 7:
        raise ValueError("opening hours need seven days, Monday first")
    span = days[now.weekday()]
    if span is None:
        return False
    start, end = _span(span)
    return start <= now.time().replace(tzinfo=None) < end


def screen_mode(*, session_active: bool, idle_s: float, attract_after_s: float, open_now: bool) -> ScreenMode:
    """What the screen shows: a customer's session, the attract loop, or the out-of-hours screen."""
    if session_active:
        return "serving"
    if not open_now:
        return "closed"
    return "attract" if idle_s >= attract_after_s else "serving"
