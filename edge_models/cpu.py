"""CPU discipline on a small kiosk: speech recognition first, the LLM takes what is left.

Whisper decodes inside :func:`speech_priority`; while any decode runs, the LLM
uses one thread. Otherwise the LLM's thread count follows the one-minute load
average, so a busy machine is not oversubscribed (a late LLM call is then cut
by its time budget and the turn goes on without it).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Counter:
    """Decodes running now, under a lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.value = 0


_speech = _Counter()


@contextmanager
def speech_priority() -> Iterator[None]:
    """Mark a speech-recognition decode as running (nested and concurrent uses count)."""
    with _speech.lock:
        _speech.value += 1
    try:
        yield
    finally:
        with _speech.lock:
            _speech.value -= 1


def speech_active() -> bool:
    """Whether a speech-recognition decode is running now."""
    return _speech.value > 0


def llm_threads(configured: int, *, cores: int | None = None, load: float | None = None) -> int:
    """Threads for the LLM now: 1 while speech is decoded, else what the load leaves, in [1, configured].

    Args:
        configured: The LLM's configured thread count (its maximum).
        cores: CPU cores (default: ``os.cpu_count()``).
        load: One-minute load average (default: ``os.getloadavg()``).
    """
    if speech_active():
        return 1
    cores = cores if cores is not None else (os.cpu_count() or 1)
    if load is None:
        try:
            load = os.getloadavg()[0]
        except OSError:
            load = 0.0
    free = int(cores - load + 0.5)
    return max(1, min(configured, free))
