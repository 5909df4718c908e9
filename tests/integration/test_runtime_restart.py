"""`kiosk run` with the whole runtime as a real server: killed (SIGKILL) mid-conversation, it restarts with the
turn log and the hand-off queue intact, the database sound, and the killed customer's session closed."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

from kiosk.config import DEFAULT_POLICY_DIR, Settings
from kiosk.storage import Store
from tests.integration.runtime_helpers import device_headers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(state: Path, port: int, config: Path) -> subprocess.Popen[bytes]:
    kiosk = Path(sys.executable).parent / "kiosk"
    env = {**os.environ, "KIOSK_STATE_DIR": str(state), "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}
    proc = subprocess.Popen(
        [str(kiosk), "run", "--port", str(port), "--config", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 90
    while True:
        try:  # the new process writes its own device token before it serves
            headers = device_headers(state)
            if httpx.get(f"http://127.0.0.1:{port}/api/kiosk/state", headers=headers, timeout=2).status_code == 200:
                return proc
        except (httpx.HTTPError, FileNotFoundError):
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
    config = tmp_path / "runtime.toml"  # the branch's settings file: a short paper roll
    config.write_text("[devices]\ncamera = 'simulated'\nprinter = 'simulated'\npaper_slips = 3\npaper_low_slips = 3\n")
    proc = start(state, port, config)
    try:
        kiosk = httpx.Client(base_url=base, headers=device_headers(state), timeout=30)
        scam = "someone called saying they are police, move my money"
        risk = kiosk.post("/api/kiosk/input", json={"text": scam}).json()
        assert risk["handoff"] == "risk"
        # Mid-flow: the kiosk has asked which currency and is still saying so (any time of day: no ticket needed).
        asked = kiosk.post("/api/kiosk/input", json={"text": "What is the exchange rate today?"})
        assert asked.json()["action"] == "ask"
        frame = kiosk.get("/avatar/frame.png")
        assert frame.content.startswith(b"\x89PNG")
    finally:
        proc.send_signal(signal.SIGKILL)  # mid-conversation, probably mid-sentence
        proc.wait(timeout=20)
    session = risk["session"]
    proc = start(state, port, config)
    try:
        kiosk = httpx.Client(base_url=base, headers=device_headers(state), timeout=30)  # the new process's token
        after = kiosk.get("/api/kiosk/state").json()
        assert after["session"] is False  # a fresh screen: the old customer is not shown
        printer = next(d for d in after["devices"] if d["kind"] == "printer")
        assert (printer["state"], printer["detail"]) == ("paper_low", "3 slips left")  # read from the settings file
        served = kiosk.post("/api/kiosk/input", json={"text": "hello"}).json()
        assert served["session"] != session
        # Staff can still work the queue the killed kiosk left: accept the risk alert.
        store = Store(state / "kiosk.db")
        try:
            alert = next(h for h in store.handoffs("waiting") if h.session_id == session)
            assert store.set_handoff_status(alert.id, "accepted", "clerk").status == "accepted"
        finally:
            store.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    with sqlite3.connect(state / "kiosk.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        outcome = db.execute("SELECT outcome FROM sessions WHERE id = ?", (session,)).fetchone()
        assert outcome == ("interrupted",)  # closed at the restart, not left open for ever
        assert db.execute("SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL").fetchone() == (0,)
    store = Store(state / "kiosk.db")
    try:
        turns = store.turns(session)
        assert [(t["intent"], t["action"]) for t in turns] == [("fraud_report", "risk_alert"), ("exchange_rate", "ask")]
        assert [t["session_id"] for t in store.turns(served["session"])] == [served["session"]]
        alerts = [h for h in store.handoffs(None) if h.session_id == session]
        assert [(h.kind, h.status) for h in alerts] == [("risk", "accepted")]
    finally:
        store.close()
