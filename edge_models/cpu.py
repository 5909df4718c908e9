"""CPU discipline on a small kiosk: speech recognition and the avatar first, the LLM takes what is left.

Whisper decodes inside :func:`speech_priority`; while any decode runs, LLM
generation pauses between tokens (:func:`wait_for_speech`) and then uses one
thread. Otherwise the LLM's thread count follows the one-minute load average,
so a busy machine is not oversubscribed (a late LLM call is then cut by its
time budget and the turn goes on without it).

The LLM runs on one :class:`LowPriorityWorker` thread whose nice value is
raised (Linux: per thread); llama.cpp's OpenMP workers are started by that
thread and inherit it, so the avatar's render loop and speech recognition win
the cores whenever they want them.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

_T = TypeVar("_T")
LLM_NICE = 10  # the LLM threads' nice value: CFS weight 110 against 1024 for the avatar and whisper (nice 0)


class _Counter:
    """Decodes running now, under a condition (waiters wake when the last one ends)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.done = threading.Condition(self.lock)
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
            if _speech.value == 0:
                _speech.done.notify_all()


def speech_active() -> bool:
    """Whether a speech-recognition decode is running now."""
    return _speech.value > 0


def wait_for_speech(deadline: float) -> bool:
    """Block while speech is being recognised, at most until ``deadline`` (``time.monotonic()`` seconds).

    Returns:
        True when no decode runs (at once or after waiting), False when the deadline came first.
    """
    with _speech.lock:
        while _speech.value > 0:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            _speech.done.wait(left)
        return True


def llm_threads(configured: int, *, cores: int | None = None, load: float | None = None, own: float = 0.0) -> int:
    """Threads for the LLM now: 1 while speech is decoded, else what the load leaves, in [1, configured].

    Args:
        configured: The LLM's configured thread count (its maximum).
        cores: CPU cores (default: ``os.cpu_count()``).
        load: One-minute load average (default: ``os.getloadavg()``).
        own: The part of that load the LLM's own threads make (:class:`OwnLoad`): without it a
            busy LLM counts itself as load and drops to one thread on an otherwise idle machine.
    """
    if speech_active():
        return 1
    cores = cores if cores is not None else (os.cpu_count() or 1)
    if load is None:
        try:
            load = os.getloadavg()[0]
        except OSError:
            load = 0.0
    free = int(cores - max(0.0, load - own) + 0.5)
    return max(1, min(configured, free))


class OwnLoad:
    """The LLM's own share of the one-minute load average.

    The same exponential average the kernel keeps (time constant 60 s), of the threads the LLM
    ran. Call :meth:`running` whenever that number changes (0 when a call ends).
    """

    TIME_CONSTANT_S = 60.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._at: float | None = None
        self._running = 0
        self.value = 0.0

    def running(self, threads: int) -> float:
        """The LLM runs ``threads`` threads from now on; returns its share of the load until now."""
        now = self._clock()
        if self._at is not None:
            decay = math.exp(-max(0.0, now - self._at) / self.TIME_CONSTANT_S)
            self.value = self.value * decay + (1.0 - decay) * self._running
        self._at, self._running = now, threads
        return self.value


def prompt_chunk(
    left: int, seconds_per_token: float | None, time_left: float, *, first: int = 8, most: int = 32
) -> int:
    """How many prompt tokens to evaluate next so a call keeps its time budget; 0: give up now.

    A call cannot be stopped inside an evaluation, so the first chunk is small (it measures the
    speed the CPU gives the model now) and no chunk is longer than the time left allows at that
    speed. When the rest of the prompt would end past the budget even at twice that speed (larger
    chunks batch better), the call is cut at once instead of when it is already late.

    Args:
        left: Prompt tokens still to evaluate.
        seconds_per_token: The speed measured on this call's last chunk (None: none yet).
        time_left: Seconds of the budget left.
        first: Size of the first chunk.
        most: Largest chunk (batching well, short enough to look at the clock).
    """
    if seconds_per_token is None:
        return min(left, first)
    if seconds_per_token * left > 2 * time_left:
        return 0
    return max(1, min(left, most, int(time_left / seconds_per_token)))


def thread_nice(tid: int) -> int:
    """The nice value of one thread of this process (its Linux thread id)."""
    return os.getpriority(os.PRIO_PROCESS, tid)


def lower_thread_priority(nice: int) -> int:
    """Raise the calling thread's nice value to ``nice`` (never lowers it); the nice value it has now.

    Linux applies ``setpriority(PRIO_PROCESS, tid)`` to one thread, and threads it starts later inherit
    it. Where that is refused (a sandbox), the thread keeps its priority.
    """
    tid = threading.get_native_id()
    try:
        if nice > thread_nice(tid):
            os.setpriority(os.PRIO_PROCESS, tid, nice)
        return thread_nice(tid)
    except OSError:
        return thread_nice(tid)


def process_threads() -> dict[int, int]:
    """Every thread of this process (Linux ``/proc/self/task``) and its nice value."""
    found: dict[int, int] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            found[int(task.name)] = thread_nice(int(task.name))
        except (ValueError, OSError):  # a thread that ended meanwhile
            continue
    return found


class LowPriorityWorker:
    """One thread at a raised nice value that runs the calls given to it, one at a time.

    The thread ends when the worker is closed or dropped (it holds no reference to the worker).

    Args:
        nice: The thread's nice value (0: the caller's priority).
        name: The thread's name.
    """

    def __init__(self, nice: int = LLM_NICE, name: str = "llm") -> None:
        self._got: dict[str, int] = {}
        self._pool = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=name, initializer=_start_worker, initargs=(nice, self._got)
        )

    @property
    def tid(self) -> int | None:
        """The worker's Linux thread id once it has run a call (None before)."""
        return self._got.get("tid")

    @property
    def nice(self) -> int:
        """The nice value the worker got (lower than asked where that was refused; 0 before its first call)."""
        return self._got.get("nice", 0)

    def run(self, call: Callable[[], _T]) -> _T:
        """Run ``call`` on the worker and return its result (its exception is raised here)."""
        return self._pool.submit(call).result()

    def close(self) -> None:
        """Stop the worker once its current call ends."""
        self._pool.shutdown(wait=False)


def _start_worker(nice: int, got: dict[str, int]) -> None:
    """A worker thread's start: lower its priority and record its id and nice value."""
    got["tid"] = threading.get_native_id()
    got["nice"] = lower_thread_priority(nice)
