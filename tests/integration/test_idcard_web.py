"""The whole kiosk (real presence, TTS, screen, OCR) through the page's API: a customer walks up, holds a
generated ID card to the simulated camera, confirms the pre-filled form; staff's queue gets it masked."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from edge_models.build.id_cards import camera_view, random_person
from kiosk.config import DEFAULT_POLICY_DIR, Settings
from kiosk.idcard import mask_id_number
from kiosk.runtime import DevicesConfig, RuntimeConfig
from kiosk.runtime.presence import PresenceConfig
from kiosk.web import create_app
from tests.integration.admin_helpers import add_users, sign_in
from tests.integration.runtime_helpers import BUSY_MACHINE, FRIDAY_MORNING, kiosk_client, wait_for


@pytest.fixture(scope="module")
def kiosk(tmp_path_factory: pytest.TempPathFactory, nlu_bundle: Path) -> Iterator[TestClient]:
    state = tmp_path_factory.mktemp("idcard") / "state"
    config = RuntimeConfig(
        budgets=BUSY_MACHINE,
        presence=PresenceConfig(arrive_ms=300.0, leave_ms=800.0),
        width=270,
        height=480,
        fps=10.0,
        devices=DevicesConfig(printer="none", card_reader="none"),
    )
    settings = Settings(state_dir=state, seed_dirs=(DEFAULT_POLICY_DIR, nlu_bundle), use_llm=False, runtime=config)
    add_users(settings.db_path)
    with kiosk_client(create_app(settings)) as client:
        client.app.state.runtime.now = lambda: FRIDAY_MORNING  # type: ignore[attr-defined]
        yield client


def state(client: TestClient) -> dict[str, Any]:
    data: dict[str, Any] = client.get("/api/kiosk/state").json()
    return data


def test_card_held_to_the_camera_fills_the_form_and_reaches_staff(kiosk: TestClient) -> None:
    app: Any = kiosk.app
    rng = random.Random(31)
    person = random_person(rng)
    buf = io.BytesIO()
    camera_view(person, "glare", rng).save(buf, format="JPEG", quality=90)
    assert kiosk.post("/api/kiosk/presence", json={"walk": "up"}).json()["via"] == "camera"
    session = wait_for(lambda: state(kiosk)["session"] and app.state.runtime.session_id)
    read = kiosk.post("/api/kiosk/idcard", content=buf.getvalue(), headers={"content-type": "image/jpeg"}).json()
    assert read["action"] == "ask"
    fields = {f["field"]: f["value"] for f in read["id_form"]["fields"]}
    assert fields["id_number"] == mask_id_number(person.id_number)  # the check digit guards it
    assert fields["name"] == person.name
    assert app.state.runtime.idcard.flow.form["id_number"] == person.id_number
    assert state(kiosk)["id_form"]["fields"][0]["value"] == person.name  # on the kiosk's screen state
    assert state(kiosk)["screen"]["buttons"][0][0] == "idcard:confirm"
    done = kiosk.post("/api/kiosk/input", json={"button": "idcard:confirm"}).json()
    assert done["action"] == "handoff"
    assert app.state.runtime.session_id == session  # the customer is still there, waiting for staff
    rows = [h for h in app.state.conversations.store.handoffs() if h.session_id == session]
    assert rows
    assert mask_id_number(person.id_number) in rows[-1].summary
    assert person.id_number not in rows[-1].summary
    sign_in(kiosk, "clerk")  # staff see the form on their hand-off page, masked
    page = kiosk.get(f"/admin/handoffs/{rows[-1].id}").text
    assert "ID card form 身份证开户表" in page
    assert mask_id_number(person.id_number) in page
    assert person.id_number not in page
    assert kiosk.post("/api/kiosk/presence", json={"walk": "away"}).status_code == 200
    wait_for(lambda: not state(kiosk)["session"])
    assert state(kiosk)["id_form"] is None


@pytest.mark.parametrize("body", [b"", b"not an image"], ids=["empty", "garbage"])
def test_bad_image_is_refused_clearly(kiosk: TestClient, body: bytes) -> None:
    response = kiosk.post("/api/kiosk/idcard", content=body)
    assert response.status_code == 422
    assert "PNG or JPEG" in response.json()["detail"]
