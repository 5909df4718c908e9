"""`kiosk run` with the whole runtime as a real server: killed mid-conversation, it restarts with the turn log
and the hand-off queue intact."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from kiosk.config import DEFAULT_POLICY_DIR, Settings
from kiosk.store import Store


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(state: Path, port: int) -> subprocess.Popen[bytes]:
    kiosk = Path(sys.executable).parent / "kiosk"
    env = {**os.environ, "KIOSK_STATE_DIR": str(state), "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}
    proc = subprocess.Popen(
        [str(kiosk), "run", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/kiosk/state", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert time.monotonic() < deadline, "kiosk run did not come up"
        time.sleep(0.3)


def test_killed_mid_conversation_it_restarts_with_logs_intact(tmp_path: Path, nlu_bundle: Path) -> None:
    from kiosk.assembly import Health, provision

    state = tmp_path / "state"
    provision(Settings(state_dir=state, seed_dirs=(DEFAULT_POLICY_DIR, nlu_bundle)), Health())
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start(state, port)
    try:
        risk = httpx.post(
            f"{base}/api/kiosk/input", json={"text": "someone called saying they are police, move my money"}, timeout=30
        ).json()
        assert risk["handoff"] == "risk"
        asked = httpx.post(f"{base}/api/kiosk/input", json={"text": "I need a queue ticket"}, timeout=30).json()
        assert asked["action"] == "ask"
        frame = httpx.get(f"{base}/avatar/frame.png", timeout=10)
        assert frame.content.startswith(b"\x89PNG")
    finally:
        proc.send_signal(signal.SIGKILL)  # mid-conversation, probably mid-sentence
        proc.wait(timeout=20)
    session = risk["session"]
    proc = start(state, port)
    try:
        after = httpx.get(f"{base}/api/kiosk/state", timeout=10).json()
        assert after["session"] is False  # a fresh screen: the old customer is not shown
        served = httpx.post(f"{base}/api/kiosk/input", json={"text": "hello"}, timeout=30).json()
        assert served["session"] != session
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    store = Store(state / "kiosk.db")
    try:
        turns = store.turns(session)
        assert [t["intent"] for t in turns] == ["fraud_report", "queue_ticket"]
        waiting = [h for h in store.handoffs("waiting") if h.session_id == session]
        assert [h.kind for h in waiting] == ["risk"]
    finally:
        store.close()
