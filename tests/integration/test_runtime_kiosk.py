"""The whole kiosk with simulated devices: real mediapipe presence, real TTS, real whisper, real pygame, real
ESC/POS; scripted customers through the page's API, asserting what each got."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kiosk.config import DEFAULT_POLICY_DIR, Settings
from kiosk.runtime import DevicesConfig, RuntimeConfig
from kiosk.runtime.presence import PresenceConfig
from kiosk.runtime.runtime import GREETING
from kiosk.web import create_app
from tests.integration.runtime_helpers import BUSY_MACHINE, FRIDAY_MORNING, kiosk_client, wait_for


@pytest.fixture(scope="module")
def kiosk(tmp_path_factory: pytest.TempPathFactory, nlu_bundle: Path) -> Iterator[TestClient]:
    state = tmp_path_factory.mktemp("runtime") / "state"
    config = RuntimeConfig(
        budgets=BUSY_MACHINE,
        presence=PresenceConfig(arrive_ms=300.0, leave_ms=800.0),
        width=270,
        height=480,
        fps=10.0,
        devices=DevicesConfig(printer="simulated", microphone="simulated"),
    )
    settings = Settings(state_dir=state, seed_dirs=(DEFAULT_POLICY_DIR, nlu_bundle), use_llm=False, runtime=config)
    with kiosk_client(create_app(settings)) as client:
        client.app.state.runtime.now = lambda: FRIDAY_MORNING  # type: ignore[attr-defined]  # the branch is open
        yield client


def state(client: TestClient) -> dict[str, Any]:
    response = client.get("/api/kiosk/state")
    assert response.status_code == 200
    data: dict[str, Any] = response.json()
    return data


def test_customers_are_served_from_arrival_to_departure(kiosk: TestClient) -> None:
    app: Any = kiosk.app
    runtime = app.state.runtime
    # Arrival: the simulated camera shows the face photo, real mediapipe sees it, the kiosk greets.
    assert kiosk.post("/api/kiosk/presence", json={"walk": "up"}).json()["via"] == "camera"
    wait_for(lambda: state(kiosk)["session"])
    wait_for(lambda: state(kiosk)["screen"]["said"] == GREETING["zh"])  # the greeting follows the session's start
    # A queue ticket: ask, tap the service, a ticket is printed (ESC/POS bytes + PNG preview).
    asked = kiosk.post("/api/kiosk/input", json={"text": "我要取号"}).json()
    assert (asked["action"], asked["intent"]) == ("ask", "queue_ticket")
    got = kiosk.post("/api/kiosk/input", json={"button": asked["buttons"][0][0]}).json()
    assert got["action"] == "ticket"
    assert got["printed"] is True
    tickets = sorted((runtime.devices.printer.out_dir).glob("*.bin"))
    assert tickets
    assert got["ticket"].encode() in tickets[-1].read_bytes()
    # A fraud attempt raises a risk alert for staff; a request for a person hands off.
    risk = kiosk.post("/api/kiosk/input", json={"text": "有人打电话说他是警察，让我把钱转到安全账户"}).json()
    assert (risk["action"], risk["handoff"]) == ("risk_alert", "risk")
    session = risk["session"]
    # The screen shows the reply while the kiosk speaks; the avatar stream serves the live frame.
    png = kiosk.get("/avatar/frame.png")
    assert png.status_code == 200
    assert png.content.startswith(b"\x89PNG")
    # Departure: the face is gone, the session closes, the screen forgets the customer.
    kiosk.post("/api/kiosk/presence", json={"walk": "away"})
    wait_for(lambda: not state(kiosk)["session"])
    after = state(kiosk)["screen"]
    assert after["heard"] == ""
    assert "警察" not in after["said"]
    store = app.state.conversations.store
    kinds = {(h.kind, h.session_id) for h in store.handoffs(None)}
    assert ("risk", session) in kinds
    assert runtime.sessions_closed >= 1
    assert state(kiosk)["frames"] > 0


def test_a_voice_turn_from_an_uploaded_wav(kiosk: TestClient, tmp_path: Path) -> None:
    from edge_models.audio import write_wav
    from edge_models.tts import EspeakSynthesizer

    wav = tmp_path / "q.wav"
    write_wav(wav, EspeakSynthesizer().synthesize("I want to talk to a real person", "en").pcm)
    turn = kiosk.post("/api/kiosk/voice?lang=en", content=wav.read_bytes()).json()
    assert turn["source"] == "voice"
    assert (turn["intent"], turn["action"], turn["handoff"]) == ("human_agent", "handoff", "handoff")
    assert turn["asr_confidence"] > 0.5
    rows = kiosk.app.state.conversations.store.turns(turn["session"])  # type: ignore[attr-defined]
    assert any(r["source"] == "voice" for r in rows)
    bad = kiosk.post("/api/kiosk/voice", content=b"RIFF not a wav")
    assert bad.status_code == 422


def test_a_customer_speaks_into_the_kiosks_microphone(kiosk: TestClient, tmp_path: Path) -> None:
    from edge_models.audio import write_wav
    from edge_models.tts import EspeakSynthesizer

    runtime = kiosk.app.state.runtime  # type: ignore[attr-defined]
    assert kiosk.post("/api/kiosk/input", json={"text": "Hello"}).json()["lang"] == "en"  # an English session
    before = state(kiosk)["turn_count"]
    # Spoken after the kiosk's reply (barge-in over speech is tested in test_voice_runtime.py): on a
    # loaded machine the moment the reply ends would decide how much of the utterance is heard.
    wait_for(lambda: not runtime.speaking, 90)
    wav = tmp_path / "person.wav"
    write_wav(wav, EspeakSynthesizer().synthesize("I want to talk to a real person", "en").pcm)
    queued = kiosk.post("/api/kiosk/voice?via=microphone", content=wav.read_bytes()).json()
    assert queued["queued"] is True
    # The kiosk hears it on its continuous microphone loop.
    wait_for(lambda: state(kiosk)["turn_count"] > before and state(kiosk)["turns"][-1]["source"] == "voice", 90)
    turn = state(kiosk)["turns"][-1]
    assert (turn["intent"], turn["handoff"]) == ("human_agent", "handoff")
    assert state(kiosk)["components"]["microphone"]["state"] == "running"
    assert any(e["event"] == "heard" for e in runtime.events)


def test_card_reader_and_bad_input(kiosk: TestClient) -> None:
    assert kiosk.post("/api/kiosk/card", json={"action": "insert", "number": "12"}).status_code == 422
    assert kiosk.post("/api/kiosk/card", json={"action": "insert"}).json() == {"ok": True}
    wait_for(lambda: any(e["event"] == "card_inserted" for e in kiosk.app.state.runtime.events))  # type: ignore[attr-defined]
    events = [e for e in kiosk.app.state.runtime.events if e["event"] == "card_inserted"]  # type: ignore[attr-defined]
    assert events[-1]["card"] == "**** 2233"
    assert kiosk.post("/api/kiosk/input", json={}).status_code == 422
    health = state(kiosk)
    assert {d["kind"]: d["state"] for d in health["devices"]}["printer"] == "ok"
    assert health["components"]["render"]["state"] == "running"


def test_a_broken_device_fails_that_device_not_the_kiosk(tmp_path: Path, nlu_bundle: Path) -> None:
    config = RuntimeConfig(
        budgets=BUSY_MACHINE,
        width=270,
        height=480,
        speak=False,
        devices=DevicesConfig(printer="escpos:usb:0x04b8:0x0202", camera="none", card_reader="none"),
    )
    settings = Settings(
        state_dir=tmp_path / "s", seed_dirs=(DEFAULT_POLICY_DIR, nlu_bundle), use_llm=False, runtime=config
    )
    with kiosk_client(create_app(settings)) as client:
        client.app.state.runtime.now = lambda: FRIDAY_MORNING  # type: ignore[attr-defined]
        devices = {d["kind"]: d for d in state(client)["devices"]}
        assert devices["printer"]["state"] == "missing"
        assert "pyusb" in devices["printer"]["detail"]
        assert devices["card_reader"]["state"] == "missing"
        assert client.get("/healthz").json()["status"] == "degraded"
        asked = client.post("/api/kiosk/input", json={"text": "I need a queue ticket"}).json()
        got = client.post("/api/kiosk/input", json={"button": asked["buttons"][0][0]}).json()
        assert got["ticket"]
        assert got["printed"] is False
        assert got["skipped"] == ["print"]
        assert "printer" in got["reply"]
