"""A supervisor that runs the runtime's long-lived tasks and restarts crashed ones with back-off."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from kiosk.runtime.timing import Backoff

_LOG = logging.getLogger(__name__)
ComponentState = Literal["running", "restarting", "stopped", "failed"]


@dataclass(slots=True)
class ComponentStatus:
    """How one supervised component is doing (shown on the page and the admin page)."""

    name: str
    state: ComponentState = "running"
    restarts: int = 0
    last_error: str = ""
    crashes_in_a_row: int = field(default=0, repr=False)
    backoff_s: float = 0.0
    retry_at: float | None = field(default=None, repr=False)


class Supervisor:
    """Runs components (coroutine factories); a crash restarts the component after a back-off.

    Args:
        backoff: Delays between restarts.
        max_restarts: Crashes in a row after which a component is given up (``failed``).
        sleep: Awaited between restarts (injected in tests).
        clock: Monotonic seconds (injected in tests).
    """

    def __init__(
        self,
        backoff: Backoff | None = None,
        *,
        max_restarts: int = 5,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backoff = backoff or Backoff()
        self.max_restarts = max_restarts
        self._sleep = sleep
        self._clock = clock
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.status: dict[str, ComponentStatus] = {}

    def spawn(self, name: str, factory: Callable[[], Awaitable[None]]) -> None:
        """Start supervising ``factory()`` under ``name``.

        Raises:
            ValueError: If a component of that name is already supervised.
        """
        if name in self._tasks and not self._tasks[name].done():
            raise ValueError(f"component {name!r} is already running")
        self.status[name] = ComponentStatus(name)
        self._tasks[name] = asyncio.create_task(self._run(name, factory), name=f"kiosk:{name}")

    async def _run(self, name: str, factory: Callable[[], Awaitable[None]]) -> None:
        status = self.status[name]
        while True:
            status.state = "running"
            started = self._clock()
            try:
                await factory()
            except asyncio.CancelledError:
                status.state = "stopped"
                raise
            except Exception as err:  # noqa: BLE001 - a crashed component is restarted, whatever it raised
                status.last_error = f"{type(err).__name__}: {err}"
                status.crashes_in_a_row = self.backoff.crashes_after(status.crashes_in_a_row, self._clock() - started)
                if status.crashes_in_a_row > self.max_restarts:
                    _LOG.error("component %s crashed %d times in a row; given up", name, status.crashes_in_a_row)
                    status.state = "failed"
                    return
                delay = self.backoff.delay(status.crashes_in_a_row)
                _LOG.exception("component %s crashed; restarting in %.1f s", name, delay)
                status.state = "restarting"
                status.restarts += 1
                status.backoff_s = delay
                status.retry_at = self._clock() + delay
                await self._sleep(delay)
                status.retry_at = None
                continue
            status.state = "stopped"
            return

    def snapshot(self) -> dict[str, dict[str, object]]:
        """Every component's state, restarts, last error and back-off, for the page and the admin page.

        ``retry_in_s`` is the time left before a ``restarting`` component runs again.
        """
        now = self._clock()
        return {
            name: {
                "state": s.state,
                "restarts": s.restarts,
                "last_error": s.last_error,
                "crashes_in_a_row": s.crashes_in_a_row,
                "backoff_s": round(s.backoff_s, 2),
                "retry_in_s": None if s.retry_at is None else round(max(0.0, s.retry_at - now), 1),
                "max_restarts": self.max_restarts,
            }
            for name, s in self.status.items()
        }

    def problems(self) -> list[str]:
        """Components that are not running, in words for the admin page."""
        return [
            f"{s.name}: {s.state}" + (f" ({s.last_error})" if s.last_error else "")
            for s in self.status.values()
            if s.state in ("restarting", "failed")
        ]

    async def stop(self, timeout_s: float = 5.0) -> None:
        """Cancel every component and wait for them (at most ``timeout_s``)."""
        tasks = [t for t in self._tasks.values() if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s)
        self._tasks.clear()
