"""The systemd units pass `systemd-analyze verify`; the kiosk pings the watchdog it is given."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KIOSK = Path(sys.executable).parent / "kiosk"
UNITS = ROOT / "deploy" / "systemd"


def test_units_verify(tmp_path: Path) -> None:
    # verify needs ExecStart to exist: point the units' /opt/kiosk path at this checkout's venv.
    for unit in ("kiosk.service", "kiosk-sync.service"):
        text = (UNITS / unit).read_text().replace("/opt/kiosk/.venv/bin/kiosk", str(KIOSK))
        (tmp_path / unit).write_text(text)
        for key in ("Restart=on-failure", "WatchdogSec=", "User=kiosk", "ProtectSystem=strict", "NoNewPrivileges=yes"):
            assert key in text, (unit, key)
    done = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / "kiosk.service"), str(tmp_path / "kiosk-sync.service")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_kiosk_run_sends_ready_and_watchdog_pings(tmp_path: Path) -> None:
    address = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(address)
    sock.settimeout(120)
    env = {
        **{k: v for k, v in os.environ.items() if k in {"PATH", "HOME"}},
        "PYTHONPATH": str(ROOT),
        "KIOSK_STATE_DIR": str(tmp_path / "state"),
        "NOTIFY_SOCKET": address,
        "WATCHDOG_USEC": "400000",
    }
    with socket.socket() as probe:  # a free port, so the test can call the page the moment READY=1 arrives
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [str(KIOSK), "run", "--no-model", "--no-llm", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        seen: list[str] = []
        deadline = time.monotonic() + 120
        seen.append(sock.recv(256).decode())
        assert seen[0] == "READY=1"
        # READY=1 means the page answers (sent after uvicorn bound its socket, not before).
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
        while seen.count("WATCHDOG=1") < 3 and time.monotonic() < deadline:
            seen.append(sock.recv(256).decode())
        assert seen.count("WATCHDOG=1") >= 3
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        sock.settimeout(5)
        while "STOPPING=1" not in seen:
            seen.append(sock.recv(256).decode())
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        sock.close()


def test_kiosk_run_stops_cleanly_when_told_to_while_it_starts(tmp_path: Path) -> None:
    """A stop that comes while the kiosk is still loading (systemd stop, Ctrl-C) ends it with status 0."""
    env = {
        **{k: v for k, v in os.environ.items() if k in {"PATH", "HOME"}},
        "PYTHONPATH": str(ROOT),
        "KIOSK_STATE_DIR": str(tmp_path / "state"),
    }
    proc = subprocess.Popen(
        [str(KIOSK), "run", "--no-llm", "--port", "0"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        assert proc.stderr is not None
        for line in proc.stderr:  # printed once the stop handler is in place, before the models load
            if b"kiosk: serving on" in line:
                break
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=120) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
