"""Serve an ASGI app with uvicorn, telling systemd when it listens and while its event loop turns."""

from __future__ import annotations

import socket
from typing import Any

import uvicorn

from kiosk.sdnotify import Watchdog


class NotifyingServer(uvicorn.Server):
    """A uvicorn server that sends ``READY=1`` once its sockets listen and pings from its loop.

    uvicorn calls :meth:`on_tick` about ten times a second from the event loop, so the
    watchdog pings stop when the loop is stuck (a blocking call in a handler), not only
    when the process is gone.
    """

    def __init__(self, config: uvicorn.Config, watchdog: Watchdog) -> None:
        super().__init__(config)
        self.watchdog = watchdog

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Bind and start serving, then tell systemd the page is ready."""
        await super().startup(sockets)
        if self.started:
            self.watchdog.ready()

    async def on_tick(self, counter: int) -> bool:
        """Ping the watchdog from the event loop, then let uvicorn do its housekeeping."""
        self.watchdog.tick()
        return await super().on_tick(counter)


def serve(app: Any, watchdog: Watchdog, **options: Any) -> None:
    """Run ``app`` like ``uvicorn.run(app, **options)``, with systemd notifications."""
    NotifyingServer(uvicorn.Config(app, **options), watchdog).run()
