"""Pure timing logic of the runtime: restart back-off, branch hours and the idle screen mode.

No clocks are read here; callers pass elapsed time and the local time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
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


def next_opening(days: tuple[str | None, ...], now: datetime) -> datetime | None:
    """When the branch next opens after local time ``now`` (None: it never opens; ``days`` Monday first).

    Raises:
        ValueError: If ``days`` does not have seven entries.
    """
    if len(days) != 7:
        raise ValueError("opening hours need seven days, Monday first")
    for ahead in range(8):
        day = now + timedelta(days=ahead)
        span = days[day.weekday()]
        if span is None:
            continue
        start, _ = _span(span)
        opens = datetime.combine(day.date(), start, tzinfo=now.tzinfo)
        if opens > now:
            return opens
    return None


_WEEKDAYS = {
    "zh": ("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}


def _clock_time(value: time) -> str:
    return f"{value.hour}:{value.minute:02d}"


def opening_words(opens: datetime | None, now: datetime, lang: str) -> str:
    """When the branch opens next, as a customer reads it: ``明天（周六）9:30`` or ``tomorrow (Saturday) at 9:30``."""
    if opens is None:
        return "营业时间请咨询工作人员" if lang == "zh" else "please ask staff for the opening hours"
    days = (opens.date() - now.date()).days
    name, at = _WEEKDAYS["zh" if lang == "zh" else "en"][opens.weekday()], _clock_time(opens.time())
    if lang == "zh":
        when = {0: "今天", 1: f"明天（{name}）"}.get(days, name if days < 7 else f"下{name}")
        return f"{when}{'' if when.endswith('）') else ' '}{at}"
    when = {0: "today", 1: f"tomorrow ({name})"}.get(days, f"on {name}" if days < 7 else f"next {name}")
    return f"{when} at {at}"


def hours_summary(days: tuple[str | None, ...], lang: str) -> str:
    """The weekly hours in words, consecutive days with the same hours joined: ``周一至周五 9:00–17:00，…``."""
    names = _WEEKDAYS["zh" if lang == "zh" else "en"]
    groups: list[tuple[int, int, str | None]] = []
    for index, span in enumerate(days):
        if groups and groups[-1][2] == span:
            groups[-1] = (groups[-1][0], index, span)
        else:
            groups.append((index, index, span))
    parts = []
    for first, last, span in groups:
        which = names[first] if first == last else f"{names[first]}{'至' if lang == 'zh' else ' to '}{names[last]}"
        if span is None:
            parts.append(f"{which}休息" if lang == "zh" else f"closed {which}")
        else:
            start, end = _span(span)
            parts.append(f"{which} {_clock_time(start)}–{_clock_time(end)}")
    return ("，" if lang == "zh" else ", ").join(parts)


def closed_notes(days: tuple[str | None, ...], now: datetime) -> dict[str, str] | None:
    """None while the branch is open; otherwise when it opens next, per language (for the engine's reply)."""
    if is_open(days, now):
        return None
    opens = next_opening(days, now)
    return {lang: opening_words(opens, now, lang) for lang in ("zh", "en")}


def screen_mode(*, session_active: bool, idle_s: float, attract_after_s: float, open_now: bool) -> ScreenMode:
    """What the screen shows: a customer's session, the attract loop, or the out-of-hours screen."""
    if session_active:
        return "serving"
    if not open_now:
        return "closed"
    return "attract" if idle_s >= attract_after_s else "serving"
