"""The kiosk's local page: the app in-process, and `kiosk run` as a real server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from kiosk.config import DEFAULT_POLICY_DIR, Settings
from kiosk.web import create_app
from tests.integration.runtime_helpers import device_headers, kiosk_client


@pytest.fixture
def client(tmp_path: Path, nlu_bundle: Path) -> TestClient:
    settings = Settings(
        state_dir=tmp_path / "state", seed_dirs=(DEFAULT_POLICY_DIR, nlu_bundle), use_llm=False, use_embedder=False
    )
    with kiosk_client(create_app(settings)) as test_client:
        yield test_client  # type: ignore[misc]


def test_page_and_security_headers(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert '<script src="/static/app.js"' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert client.get("/static/app.js").status_code == 200
    health = client.get("/healthz").json()
    assert health["status"] == "ok"
    assert health["nlu"] != "none"


def test_a_conversation_through_the_api(client: TestClient) -> None:
    session = client.post("/api/session").json()["session"]
    first = client.post("/api/turn", json={"session": session, "text": "I need a queue ticket"}).json()
    assert (first["action"], first["intent"]) == ("ask", "queue_ticket")
    button = next(b["id"] for b in first["buttons"] if b["id"].endswith(":forex"))
    second = client.post("/api/turn", json={"session": session, "button": button}).json()
    assert (second["action"], second["ticket"], second["stage"]) == ("ticket", "C001", "button")
    assert second["latency_ms"] >= 0


@pytest.mark.parametrize(
    "body",
    [
        {"session": "a"},
        {"session": "", "text": "hi"},
        {"session": "a b", "text": "hi"},
        {"session": "a", "text": "x" * 5000},
        {"session": "a", "text": "hi", "admin": True},
        ["not", "an", "object"],
    ],
    ids=["no-input", "empty-session", "bad-session", "too-long", "extra-field", "not-object"],
)
def test_bad_requests_are_rejected(client: TestClient, body: object) -> None:
    assert client.post("/api/turn", json=body).status_code == 422


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_kiosk_run_serves_and_stops_cleanly(tmp_path: Path, nlu_bundle: Path) -> None:
    from kiosk.assembly import Health, provision

    state = tmp_path / "state"
    provision(Settings(state_dir=state, seed_dirs=(DEFAULT_POLICY_DIR, nlu_bundle)), Health())
    port = free_port()
    kiosk = Path(sys.executable).parent / "kiosk"
    env = {**os.environ, "KIOSK_STATE_DIR": str(state)}
    proc = subprocess.Popen(
        [str(kiosk), "run", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "kiosk run did not come up"
            time.sleep(0.2)
        turn = {"session": "s1", "text": "你们几点关门"}
        assert httpx.post(f"{base}/api/turn", json=turn, timeout=10).status_code == 401  # not the kiosk screen
        reply = httpx.post(f"{base}/api/turn", json=turn, headers=device_headers(state), timeout=10).json()
        assert reply["intent"] == "branch_info"
        assert "9:00" in reply["reply"]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0


def test_the_page_picks_up_a_new_policy_for_the_next_customer(client: TestClient, tmp_path: Path) -> None:
    import shutil

    from bundles import activate, install_bundle, write_manifest

    before = client.post("/api/turn", json={"session": "a", "text": "今天美元汇率多少"}).json()
    assert "709.52" in before["reply"]
    policy = tmp_path / "policy-new"
    shutil.copytree(DEFAULT_POLICY_DIR, policy)
    rates = policy / "rates.yaml"
    rates.write_text(rates.read_text(encoding="utf-8").replace("709.52", "719.99"), encoding="utf-8")
    write_manifest(policy, name="policy", kind="policy", version="2099.1.1")
    state = tmp_path / "state"
    install_bundle(policy, state)
    activate(state, "policy", "2099.1.1")
    same = client.post("/api/turn", json={"session": "a", "text": "美元汇率多少"}).json()
    assert "709.52" in same["reply"]  # never mid-conversation
    after = client.post("/api/turn", json={"session": "b", "text": "今天美元汇率多少"}).json()
    assert "719.99" in after["reply"]
