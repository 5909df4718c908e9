"""systemd notifications over ``$NOTIFY_SOCKET`` with a plain socket (no extra dependency).

A service started with ``Type=notify`` and ``WatchdogSec=`` gets ``READY=1`` once and
``WATCHDOG=1`` every half watchdog period; outside systemd every call does nothing.
"""

from __future__ import annotations

import os
import socket
import threading
import time


def notify(message: str) -> bool:
    """Send ``message`` to systemd; False when not run by systemd (or the socket is gone)."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # abstract namespace
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(message.encode())
    except OSError:
        return False
    return True


def watchdog_interval() -> float | None:
    """Half the ``$WATCHDOG_USEC`` period in seconds, or None when no watchdog is asked for."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) <= 0 or (pid.isdigit() and int(pid) != os.getpid()):
        return None
    return int(usec) / 2_000_000


class Watchdog:
    """Tells systemd the service is ready, then pings it until :meth:`stop`.

    Two ways to ping: :meth:`start` pings from a thread (the sync agent's loop is a
    plain thread); a server calls :meth:`ready` once it listens and :meth:`tick` from
    its event loop, so a stuck loop stops the pings and systemd restarts the kiosk.
    """

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._interval = watchdog_interval()
        self._last_ping = float("-inf")

    def ready(self) -> None:
        """Send ``READY=1`` (call once the service answers)."""
        notify("READY=1")

    def tick(self) -> None:
        """Send ``WATCHDOG=1`` when half the watchdog period has passed since the last one."""
        if self._interval is None:
            return
        now = time.monotonic()
        if now - self._last_ping >= self._interval:
            self._last_ping = now
            notify("WATCHDOG=1")

    def start(self) -> None:
        """Send ``READY=1`` and start the pings (when systemd asked for a watchdog)."""
        self.ready()
        if self._interval is not None:
            self._thread = threading.Thread(target=self._ping, args=(self._interval,), name="sd-watchdog", daemon=True)
            self._thread.start()

    def _ping(self, interval: float) -> None:
        while not self._stop.is_set():
            notify("WATCHDOG=1")
            self._stop.wait(interval)

    def stop(self) -> None:
        """Send ``STOPPING=1`` and end the pings."""
        self._stop.set()
        notify("STOPPING=1")
        if self._thread is not None:
            self._thread.join(5.0)
