"""What staff see of the running kiosk on the admin page: the printer running low then out while customers are
served, and a crashed component restarted with its count and back-off. Real app, real runtime, real simulated
printer (ESC/POS bytes), real admin sign-in; the runtime's local time is injected (a Friday morning)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kiosk.config import DEFAULT_POLICY_DIR, Settings
from kiosk.runtime import Backoff, DevicesConfig, RuntimeConfig
from kiosk.web import create_app
from tests.integration.admin_helpers import add_users, csrf_of, sign_in
from tests.integration.runtime_helpers import BUSY_MACHINE, FRIDAY_MORNING, kiosk_client, wait_for


@pytest.fixture
def kiosk(tmp_path: Path, nlu_bundle: Path) -> Iterator[TestClient]:
    config = RuntimeConfig(
        budgets=BUSY_MACHINE,
        width=270,
        height=480,
        fps=5.0,
        speak=False,
        devices=DevicesConfig(camera="none", microphone="none", paper_slips=3, paper_low_slips=2),
    )
    settings = Settings(
        state_dir=tmp_path / "state", seed_dirs=(DEFAULT_POLICY_DIR, nlu_bundle), use_llm=False, runtime=config
    )
    add_users(settings.db_path)
    with kiosk_client(create_app(settings)) as client:
        client.app.state.runtime.now = lambda: FRIDAY_MORNING  # type: ignore[attr-defined]
        sign_in(client, "clerk")
        yield client


def health(client: TestClient) -> dict[str, Any]:
    response = client.get("/admin/api/health")
    assert response.status_code == 200
    data: dict[str, Any] = response.json()
    return data


def printer(client: TestClient) -> dict[str, Any]:
    return next(d for d in health(client)["devices"] if d["kind"] == "printer")


def take_ticket(client: TestClient, text: str = "I need a queue ticket for foreign exchange") -> dict[str, Any]:
    """A new customer takes a ticket (one session may take only a few: the policy's limit)."""
    client.post("/api/kiosk/presence", json={"walk": "away"})
    turn: dict[str, Any] = client.post("/api/kiosk/input", json={"text": text}).json()
    assert turn["action"] == "ticket", turn
    return turn


def test_paper_runs_low_then_out_and_staff_see_it(kiosk: TestClient) -> None:
    assert printer(kiosk)["state"] == "ok"
    assert not [p for p in health(kiosk)["problems"] if "printer" in p]  # (no camera here: that one is listed)
    first = take_ticket(kiosk)
    assert first["printed"] is True
    slip = sorted((kiosk.app.state.runtime.devices.printer.out_dir).glob("*.bin"))[-1].read_bytes()  # type: ignore[attr-defined]
    for text in (first["ticket"], "外汇业务", "Foreign exchange", "Demo Bank Riverside Branch"):
        assert text.encode("gb18030") in slip
    assert b"2026-11-27 10:30" in slip
    # Two slips left: paper low, on the admin API and the dashboard.
    assert (printer(kiosk)["state"], printer(kiosk)["detail"]) == ("paper_low", "2 slips left")
    assert "printer paper_low: 2 slips left" in health(kiosk)["problems"]
    assert kiosk.get("/admin/api/status").json()["health"] == "degraded"  # flags "needs attention" on every page
    assert 'id="health-flag"' in kiosk.get("/admin/handoffs").text
    page = kiosk.get("/admin/").text
    assert 'data-device="printer"' in page
    assert "paper_low" in page
    assert "2 slips left" in page
    # The last two slips, then none: the next customer is told their number instead of getting a slip.
    assert [take_ticket(kiosk)["printed"] for _ in range(2)] == [True, True]
    assert (printer(kiosk)["state"], printer(kiosk)["detail"]) == ("degraded", "out of paper")
    unprinted = take_ticket(kiosk)
    assert unprinted["printed"] is False
    assert unprinted["skipped"] == ["print"]
    assert "out of paper" in unprinted["reply"]
    assert unprinted["ticket"] in unprinted["reply"]
    screen = kiosk.get("/api/kiosk/state").json()["screen"]
    assert unprinted["ticket"] in screen["said"]  # shown on the kiosk's screen while it is said
    assert "printer degraded: out of paper" in health(kiosk)["problems"]
    assert "out of paper" in kiosk.get("/admin/").text
    assert unprinted["ticket"] == "C004"  # the fourth ticket of the day was issued all the same
    # Staff put a new roll in and say so on the dashboard (a form with CSRF); the next customer gets a slip.
    page = kiosk.get("/admin/").text
    assert 'action="/admin/devices/printer/refill"' in page
    assert kiosk.post("/admin/devices/printer/refill", data={}, follow_redirects=False).status_code == 403
    refilled = kiosk.post("/admin/devices/printer/refill", data={"csrf": csrf_of(page)}, follow_redirects=False)
    assert refilled.status_code == 303
    assert (printer(kiosk)["state"], printer(kiosk)["detail"]) == ("ok", "")
    assert not [p for p in health(kiosk)["problems"] if "printer" in p]
    assert take_ticket(kiosk)["printed"] is True
    assert "printer_refilled" in kiosk.get("/admin/audit").text


def test_a_crashed_component_is_restarted_and_shown_with_its_count(kiosk: TestClient) -> None:
    runtime = kiosk.app.state.runtime  # type: ignore[attr-defined]
    reader = runtime.devices.card_reader
    runtime.supervisor.backoff = Backoff(base_s=0.2)
    assert health(kiosk)["components"]["card_reader"]["restarts"] == 0
    reader.fail_next("USB card reader unplugged")
    restarted = wait_for(
        lambda: (c := health(kiosk)["components"]["card_reader"])["restarts"] == 1 and c["state"] == "running" and c
    )
    assert "USB card reader unplugged" in restarted["last_error"]
    assert restarted["backoff_s"] == 0.2
    # It works again after the restart: a card goes in and is read.
    assert kiosk.post("/api/kiosk/card", json={"action": "insert"}).json() == {"ok": True}
    wait_for(lambda: any(e["event"] == "card_inserted" for e in runtime.events))
    page = kiosk.get("/admin/").text
    assert 'data-component="card_reader"' in page
    assert "USB card reader unplugged" in page
    # A second crash soon after waits longer; staff see it restarting, with the wait and the count.
    runtime.supervisor.backoff = Backoff(base_s=50.0, max_s=600.0)
    reader.fail_next("USB card reader unplugged again")
    waiting = wait_for(lambda: (c := health(kiosk)["components"]["card_reader"])["state"] == "restarting" and c)
    assert (waiting["restarts"], waiting["crashes_in_a_row"], waiting["backoff_s"]) == (2, 2, 100.0)
    assert 0 < waiting["retry_in_s"] <= 100.0
    assert any(p.startswith("card_reader: restarting") for p in health(kiosk)["problems"])
    page = kiosk.get("/admin/").text
    assert "restarting in" in page
    assert "crash 2 of 5 in a row" in page
    kiosk.cookies.clear()
    assert kiosk.get("/admin/api/health").status_code == 401  # staff only
