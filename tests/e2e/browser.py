"""What every browser test shares: Debian's chromium, its headless flags, a free port, waiting for a server."""

from __future__ import annotations

import socket
import subprocess
import time

import httpx
import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    """A loopback port free now (for a server started as a separate process)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_up(url: str, proc: subprocess.Popen[bytes], what: str, tries: int = 600) -> None:
    """Poll ``url`` every 0.1 s until it answers 200; fail with the server's errors if it exits first."""
    for _ in range(tries):
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            pytest.fail(proc.stderr.read().decode() if proc.stderr else f"{what} exited")
        time.sleep(0.1)
    pytest.fail(f"{what} did not start")
