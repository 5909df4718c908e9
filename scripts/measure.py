"""Process measurements shared by the runtime benchmark and the soak: memory, open files, percentiles, trends."""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path


def rss_mb() -> float:
    """Resident memory of this process, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def open_files() -> int:
    """Open file descriptors of this process."""
    return len(os.listdir("/proc/self/fd"))


def threads() -> int:
    """Python threads alive in this process."""
    return threading.active_count()


def pct(values: list[float], q: float) -> float:
    """The ``q``-th percentile (nearest rank); 0 for no values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] if ordered else 0.0


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of ``ys`` over ``xs`` (0 for fewer than two points)."""
    if len(xs) < 2:
        return 0.0
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


def opening_hours_clock(start: datetime = datetime(2026, 11, 25, 9, 30)) -> Callable[[], datetime]:
    """A local-time clock that starts on a weekday morning and runs at real speed.

    The runtime refuses queue tickets outside the policy's branch hours; a
    benchmark or soak started at night would measure a closed branch.
    """
    origin = time.monotonic()
    return lambda: datetime.fromtimestamp(start.timestamp() + time.monotonic() - origin)
