"""Timing of the sync agent as pure classes fed elapsed time (no clock reads)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class PollSchedule:
    """When to poll next: a period with jitter, exponential back-off while offline.

    Args:
        period_s: Seconds between polls when all is well.
        jitter: Share of the period added or removed at random (0..1).
        max_backoff_s: Upper bound of the delay after repeated failures.
    """

    period_s: float = 300.0
    jitter: float = 0.2
    max_backoff_s: float = 3600.0
    failures: int = 0

    def next_delay(self, ok: bool, rand: float) -> float:
        """Delay before the next poll after a poll that did (not) succeed.

        Args:
            ok: Whether the last poll reached the repository.
            rand: A random number in [0, 1) (injected).
        """
        self.failures = 0 if ok else self.failures + 1
        base = self.period_s if ok else min(self.max_backoff_s, self.period_s * 2 ** min(self.failures, 16))
        return max(0.0, base * (1 + self.jitter * (2 * rand - 1)))


@dataclass(frozen=True)
class HealthWindow:
    """The watch after an activation: failed, still watching, or passed.

    Args:
        duration_s: How long a new version is watched before it is confirmed.
    """

    duration_s: float = 60.0

    def verdict(self, elapsed_s: float, *, failed: bool) -> str:
        """'failed', 'watching' or 'passed' after ``elapsed_s`` seconds."""
        if failed:
            return "failed"
        return "passed" if elapsed_s >= self.duration_s else "watching"
