"""Prompt prefixes read in the background: the FAQ passages customers' calls could not fit in their budget.

A composed answer reads the system prompt and one FAQ passage, then the customer's question. Read for
the first time, a passage does not fit the compose budget on 2 cores (about 250 tokens at 60 tokens/s
against 2.5 s), so the call is cut and the passage is shown as written. :class:`PrefixReader` then reads
that prompt's fixed start when no customer needs the model, and the model's prefix cache keeps its KV
state: the next customer asking for that passage gets an answer composed within the budget. The reading
is a background call (it gives way to customers' calls and to speech recognition, and stops at
shutdown); one thread, a few requests queued at most, each prefix once.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable

from edge_models.errors import ModelError

__all__ = ["PrefixReader"]

_LOG = logging.getLogger(__name__)


class PrefixReader:
    """Reads queued prompt prefixes with ``read(prompt, prefix_chars)`` on one background thread.

    Args:
        read: Reads the first ``prefix_chars`` characters of ``prompt`` into the model's prefix cache.
        most: Requests queued or being read at most (others are dropped: a later cut asks again).

    Attributes:
        done: Prefixes read (tests and benchmarks).
        failed: Reads that gave way, ran out of time or failed.
    """

    def __init__(self, read: Callable[[str, int], None], *, most: int = 4) -> None:
        self._read = read
        self._most = most
        self._queue: deque[tuple[str, int]] = deque()
        self._pending: set[str] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.done = 0
        self.failed = 0

    def request(self, prompt: str, prefix_chars: int) -> bool:
        """Queue the prompt's fixed start to be read; False when it is already queued or the queue is full."""
        head = prompt[:prefix_chars]
        with self._lock:
            if head in self._pending or len(self._pending) >= self._most:
                return False
            self._pending.add(head)
            self._queue.append((prompt, prefix_chars))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="llm-prefix-reader", daemon=True)
                self._thread.start()
        return True

    def join(self, timeout: float) -> bool:
        """Wait until the queue is read; False on time-out."""
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not thread.is_alive() if thread is not None else True

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    self._thread = None
                    return
                prompt, prefix_chars = self._queue.popleft()
            try:
                self._read(prompt, prefix_chars)
                self.done += 1
            except ModelError as err:  # gave way, stopped, late or failed: a later cut asks again
                self.failed += 1
                _LOG.info("LLM prompt prefix not read ahead: %s", err)
            finally:
                with self._lock:
                    self._pending.discard(prompt[:prefix_chars])
