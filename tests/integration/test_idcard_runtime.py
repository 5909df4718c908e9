"""Account opening with the ID card on the running kiosk: a generated card shown to the (simulated) camera,
the real OCR models, the pre-filled form, confirm or correct, and staff's hand-off with the masked form."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest

from edge_models.build.id_cards import SamplePerson, camera_view, random_person
from edge_models.vision.ocr import TextReader
from hardware.camera import SceneCamera
from kiosk.config import DEFAULT_POLICY_DIR
from kiosk.conversation import Conversations
from kiosk.dialogue.engine import DialogueEngine
from kiosk.dialogue.ports import MemoryTicketDispenser
from kiosk.idcard import mask_id_number
from kiosk.policy.loader import load_policy
from kiosk.runtime import KioskRuntime, RuntimeConfig
from kiosk.runtime.devices import Devices
from kiosk.storage import Store
from tests.integration.runtime_helpers import BUSY_MACHINE, FRIDAY_MORNING

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(coro, timeout=120))


@pytest.fixture(scope="module")
def reader() -> TextReader:
    return TextReader()


def _card(seed: int, degradation: str | None = None) -> tuple[SamplePerson, np.ndarray]:
    rng = random.Random(seed)
    person = random_person(rng)
    return person, np.asarray(camera_view(person, degradation, rng), dtype=np.uint8)


def _kiosk(state: Path, reader: TextReader, camera: SceneCamera | None) -> tuple[KioskRuntime, Store]:
    engine = DialogueEngine(load_policy(DEFAULT_POLICY_DIR), None, tickets=MemoryTicketDispenser())
    store = Store(state / "kiosk.db")
    rt = KioskRuntime(
        Conversations(engine, store), Devices(camera=camera), RuntimeConfig(budgets=BUSY_MACHINE), ocr=reader
    )
    rt.now = lambda: FRIDAY_MORNING
    return rt, store


def _files_bytes(state: Path) -> list[tuple[Path, bytes]]:
    return [(p, p.read_bytes()) for p in state.rglob("*") if p.is_file()]


def test_card_to_camera_confirm_and_staff_get_the_masked_form(tmp_path: Path, reader: TextReader) -> None:
    person, image = _card(21)
    camera = SceneCamera()
    rt, store = _kiosk(tmp_path, reader, camera)

    async def scenario() -> list[Any]:
        asked = await rt.text("我想开户")
        checklist = await rt.button("slot:account_open:resident")
        assert ("idcard:scan", "扫描身份证，预填开户表") in checklist.buttons, (asked, checklist)
        camera.show(image)  # the customer holds the card to the camera
        read = await rt.button("idcard:scan")
        form = rt.idcard.view()
        camera.show(None)
        confirmed = await rt.button("idcard:confirm")
        return [read, form, confirmed]

    read, form, confirmed = run(scenario())
    assert read.action == "ask"
    assert [b[0] for b in read.buttons][:2] == ["idcard:confirm", "idcard:fix:name"]
    shown = {f["field"]: f["value"] for f in form["fields"]}
    assert shown == {
        "name": person.name,
        "sex": person.sex,
        "ethnicity": person.ethnicity,
        "birth": person.birth.isoformat(),
        "address": person.address,
        "id_number": person.id_number,
    }
    assert confirmed.action == "handoff"
    assert confirmed.handoff == "handoff"
    (handoff,) = store.handoffs()
    assert handoff.summary_source == "form"
    assert mask_id_number(person.id_number) in handoff.summary
    assert f"姓名 {person.name[0]}*" in handoff.summary
    # Nothing personal in the clear, and no image bytes, anywhere under the state folder.
    store.close()
    stripe = image[image.shape[0] // 2, 100:140].tobytes()
    for path, data in _files_bytes(tmp_path):
        assert person.id_number.encode() not in data, path
        assert person.name.encode() not in data, path
        assert person.address.encode() not in data, path
        assert not data.startswith((b"\x89PNG", b"\xff\xd8\xff")), path
        assert stripe not in data, path
    rt.idcard.forget()


def test_customer_corrects_a_field_from_a_scanner_image(tmp_path: Path, reader: TextReader) -> None:
    person, image = _card(22, "rotation")
    rt, store = _kiosk(tmp_path, reader, None)

    async def scenario() -> list[Any]:
        read = await rt.id_card(image)  # a document scanner's image, no camera
        edit = await rt.button("idcard:fix:address")
        bad = await rt.text("x")
        fixed = await rt.text("北京市东城区和平路1号")
        view = rt.idcard.view()
        done = await rt.button("idcard:confirm")
        await rt.end_session("left")
        return [read, edit, bad, fixed, view, done]

    read, edit, bad, fixed, view, done = run(scenario())
    assert read.action == "ask"
    assert edit.buttons == (("idcard:cancel", "取消"),)
    assert bad.action == "ask"  # still editing: the value was refused
    assert fixed.heard == "[correction of address]"
    address = next(f for f in view["fields"] if f["field"] == "address")
    assert (address["value"], address["corrected"]) == ("北京市东城区和平路1号", True)
    number = next(f for f in view["fields"] if f["field"] == "id_number")
    assert (number["value"], number["corrected"]) == (person.id_number, False)
    assert done.action == "handoff"
    (handoff,) = store.handoffs()
    assert "corrected: address" in handoff.summary
    assert "住址 北京市东城区****" in handoff.summary
    assert rt.idcard.view() is None  # the customer left: the form is gone


def test_unreadable_card_asks_once_then_calls_staff(tmp_path: Path, reader: TextReader) -> None:
    rt, store = _kiosk(tmp_path, reader, None)
    blank = np.full((540, 856, 3), 235, dtype=np.uint8)

    async def scenario() -> list[Any]:
        first = await rt.id_card(blank)
        second = await rt.id_card(blank)
        return [first, second]

    first, second = run(scenario())
    assert first.action == "clarify"
    assert [b[0] for b in first.buttons] == ["idcard:rescan", "staff:call"]
    assert "再试一次" in first.reply
    assert second.action == "handoff"
    (handoff,) = store.handoffs()
    assert handoff.reason.startswith("account opening: ID card unreadable")


def test_confirm_refused_when_a_correction_contradicts_the_number(tmp_path: Path, reader: TextReader) -> None:
    person, image = _card(23)
    rt, store = _kiosk(tmp_path, reader, None)
    other = "女" if person.sex == "男" else "男"

    async def scenario() -> Any:
        await rt.id_card(image)
        await rt.button("idcard:fix:sex")
        await rt.text(other)
        return await rt.button("idcard:confirm")

    refused = run(scenario())
    assert refused.action == "clarify"
    assert "不一致" in refused.reply
    assert store.handoffs() == []
