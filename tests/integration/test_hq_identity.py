"""Kiosk identity end to end: a real HQ server on port 0 and the real sync agent against it.

Enrol, report, labels and counts that arrive once after an offline period,
and every refusal (spoofed, replayed, unsigned, revoked, unknown, stale,
oversized, another kiosk's report) leaving HQ's state unchanged. The fleet
pages need an operator's sign-in.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from kiosk.admin.accounts import AdminDB
from kiosk.cli import app as kiosk_cli
from kiosk.dialogue.decision import Decision
from kiosk.storage import Store
from sync.agent import SyncAgent, load_config
from sync.agent.identity import DeviceSigner
from sync.envelope import seal
from sync.hq.db import HqDB
from sync.hq.server import MAX_REPORT_BYTES
from tests.integration.hq_helpers import Hq, cli, running_hq

CARD = "6222020200112233445"
PASSWORD = "operator-password-1"  # noqa: S105 - a test account
runner = CliRunner()


@pytest.fixture
def hq(tmp_path: Path, hq_store_url: str) -> Iterator[Hq]:
    """HQ's server (uvicorn, port 0, in a thread) over a fresh repository, with one operator.

    The store is SQLite or PostgreSQL, named in hq.json (so every ``kiosk hq`` command finds it).
    """
    with running_hq(tmp_path / "hq", hq_store_url, users={"ops": PASSWORD}) as served:
        yield served


def provision(tmp_path: Path, hq: Hq, kiosk_id: str = "kiosk-7", base: str | None = None) -> tuple[Path, SyncAgent]:
    """``kiosk sync init`` and ``kiosk hq enrol``, as at the kiosk's installation."""
    state = tmp_path / kiosk_id
    url = base or hq.base
    out = cli(
        "sync", "init", str(hq.home / "signed" / "root.json"), "--url", url, "--kiosk-id", kiosk_id,
        "--branch", "sh01", "--report-url", f"{url}/api/report", "--state-dir", str(state),
    )  # fmt: skip
    assert out["new_key"] is True
    assert out["intake_url"] == ""
    cli("hq", "enrol", str(hq.home), "--kiosk-id", kiosk_id, "--public-key", out["public_key_file"])
    return state, SyncAgent(state, load_config(state))


def operator(hq: Hq) -> httpx.Client:
    client = httpx.Client(base_url=hq.base, timeout=10)
    response = client.post("/login", data={"username": "ops", "password": PASSWORD, "csrf": form_token(client)})
    assert response.status_code == 303, response.text
    return client


def form_token(client: httpx.Client) -> str:
    """The sign-in form's token (its cookie is kept by the client)."""
    match = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert match is not None
    return match.group(1)


def fleet(hq: Hq) -> list[dict[str, Any]]:
    client = operator(hq)
    try:
        response = client.get("/api/fleet")
    finally:
        client.close()
    assert response.status_code == 200
    return list(response.json())


def hq_labels(hq: Hq) -> list[dict[str, Any]]:
    db = HqDB(hq.store)
    try:
        return db.labels()
    finally:
        db.close()


def last_counter(hq: Hq, kiosk_id: str) -> int:
    db = HqDB(hq.store)
    try:
        enrolment = db.enrolment(kiosk_id)
    finally:
        db.close()
    assert enrolment is not None
    return enrolment.last_counter


def staff_labels(state: Path, texts: list[str], yesterday: bool = False) -> None:
    """Turns the kiosk was unsure about, then labelled by staff on the admin page."""
    store = Store(state / "kiosk.db")
    ids = []
    for n, text in enumerate(texts):
        decision = Decision(reply="?", lang="en", intent="fallback", stage="fallback", confidence=0.2, action="clarify")
        ids.append(store.record_turn(f"s{n}", "typed", text, decision, 5.0))
    store.close()
    if yesterday:
        with closing(sqlite3.connect(state / "kiosk.db")) as db, db:
            db.execute("UPDATE turns SET at = '2026-01-02T10:00:00.000+00:00'")
    admin = AdminDB(state / "kiosk.db")
    for turn_id in ids:
        admin.label(turn_id, "card_lost", "clerk")
    admin.close()


def test_enrolled_kiosk_reports_and_operator_sees_it(tmp_path: Path, hq: Hq) -> None:
    _state, agent = provision(tmp_path, hq)
    agent.report()
    rows = fleet(hq)
    assert [(r["kiosk_id"], r["branch"]) for r in rows] == [("kiosk-7", "sh01")]
    client = operator(hq)
    try:
        page = client.get("/fleet")
    finally:
        client.close()
    assert page.status_code == 200
    assert "kiosk-7" in page.text


def test_fleet_pages_refuse_without_sign_in(tmp_path: Path, hq: Hq) -> None:
    _state, agent = provision(tmp_path, hq)
    agent.report()
    with httpx.Client(base_url=hq.base, timeout=10) as stranger:
        api = stranger.get("/api/fleet")
        page = stranger.get("/fleet")
        no_token = stranger.post("/login", data={"username": "ops", "password": PASSWORD, "csrf": "guess"})
        token = form_token(stranger)
        wrong = stranger.post("/login", data={"username": "ops", "password": "not-the-password", "csrf": token})
        stranger.cookies.set("hq_session", "made-up")
        forged = stranger.get("/api/fleet")
    assert api.status_code == 401
    assert (page.status_code, page.headers["location"]) == (303, "/login")
    assert "kiosk-7" not in api.text + page.text
    assert no_token.status_code == 403
    assert wrong.status_code == 401
    assert forged.status_code == 401


def test_labels_and_counts_arrive_once_after_an_offline_period(tmp_path: Path, hq: Hq) -> None:
    from sync.agent.outbox import Outbox

    offline = "http://127.0.0.1:9"  # nothing listens: HQ unreachable
    state, agent = provision(tmp_path, hq, base=offline)
    staff_labels(state, [f"my card {CARD} was swallowed", "the machine ate my card"], yesterday=True)

    away = agent.upload()
    assert (away["queued"], away["sent"], away["left"]) == (3, 0, 3)  # two labels, yesterday's counts
    assert "not reached" in str(away["error"])
    staff_labels(state, ["卡被吞了"])  # labelled while still offline
    assert agent.upload()["left"] == 4
    assert hq_labels(hq) == []

    # Back online (the agent restarts with HQ's address): everything arrives.
    config = load_config(state).model_copy(update={"report_url": f"{hq.base}/api/report"})
    back = SyncAgent(state, config).upload()
    assert (back["queued"], back["sent"], back["left"], back["error"]) == (0, 4, 0, "")
    labels = hq_labels(hq)
    assert sorted(label["text"] for label in labels) == sorted(
        ["my card [card ****3445] was swallowed", "the machine ate my card", "卡被吞了"]
    )
    assert {(label["kiosk_id"], label["intent"], label["status"]) for label in labels} == {
        ("kiosk-7", "card_lost", "new")
    }
    assert all(CARD not in json.dumps(label) for label in labels)
    db = HqDB(hq.store)
    counts = db.daily_counts("kiosk-7")
    db.close()
    assert [(c["day"], c["intent"], c["turns"], c["clarified"], c["decided"]) for c in counts] == [
        ("2026-01-02", "fallback", 2, 2, 0)
    ]
    assert [(c["risk_alerts"], c["elderly_turns"], c["elderly_clarified"]) for c in counts] == [(0, 0, 0)]

    # A lost answer: the same items are sent again; HQ keeps one of each.
    assert SyncAgent(state, config).upload()["sent"] == 0
    box = Outbox(state)
    staff_labels(state, ["lost card again"])
    agent2 = SyncAgent(state, config)
    assert agent2.uplink().collect(time.strftime("%Y-%m-%d", time.gmtime())) == 1  # today's counts wait a day
    saved = {p.name: p.read_bytes() for p in box.folder.glob("*.json")}
    assert agent2.upload()["sent"] == 1
    for name, data in saved.items():
        (box.folder / name).write_bytes(data)
    resend = agent2.upload()
    assert (resend["sent"], resend["left"]) == (1, 0)
    assert len(hq_labels(hq)) == 4

    # An operator judges them.
    first = hq_labels(hq)[0]["id"]
    assert cli("hq", "labels", str(hq.home), "--accept", str(first))["status"] == "accepted"
    result = runner.invoke(kiosk_cli, ["hq", "labels", str(hq.home), "--status", "accepted"])
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == [first]


def post(hq: Hq, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{hq.base}{path}", content=body, headers={"content-type": "application/json", **headers})


def signed(state: Path, kiosk_id: str, path: str, body: bytes, now: float | None = None) -> dict[str, str]:
    return DeviceSigner(state, kiosk_id).seal(path, body, time.time() if now is None else now).headers()


REPORT = json.dumps({"kiosk_id": "kiosk-7", "branch": "evil", "healthy": False}).encode()


def test_refusals_change_nothing(tmp_path: Path, hq: Hq) -> None:
    state, agent = provision(tmp_path, hq)
    other_state, _ = provision(tmp_path, hq, kiosk_id="kiosk-8")
    agent.report()
    before_fleet, before_counter = fleet(hq), last_counter(hq, "kiosk-7")
    good = signed(state, "kiosk-7", "/api/report", REPORT)
    stranger_key = Ed25519PrivateKey.generate()
    spoofed = seal(stranger_key, "kiosk-7", before_counter + 10**9, now=time.time(), path="/api/report", body=REPORT)
    label = json.dumps({"items": [{"kind": "label", "item_id": "x", "text": "t", "lang": "en", "intent": "i",
                                   "labelled_at": "2026-12-05"}]}).encode()  # fmt: skip

    stale = signed(state, "kiosk-7", "/api/report", REPORT, time.time() - 3600)
    by_other = signed(other_state, "kiosk-8", "/api/report", REPORT)
    for_intake = signed(state, "kiosk-7", "/api/intake", label)
    huge = b"{" + b" " * MAX_REPORT_BYTES + b"}"
    cases = {
        "unsigned": (post(hq, "/api/report", REPORT, {}), 401),
        "spoofed": (post(hq, "/api/report", REPORT, spoofed.headers()), 401),
        "body swapped": (post(hq, "/api/report", REPORT.replace(b"evil", b"evil2"), good), 401),
        "stale": (post(hq, "/api/report", REPORT, stale), 401),
        "other kiosk's report": (post(hq, "/api/report", REPORT, by_other), 403),
        "unknown": (post(hq, "/api/report", REPORT, {**good, "x-kiosk-id": "kiosk-99"}), 403),
        "labels to the report endpoint": (post(hq, "/api/report", label, for_intake), 401),
        "oversized": (post(hq, "/api/intake", huge, signed(state, "kiosk-7", "/api/intake", huge)), 413),
    }
    for name, (response, status) in cases.items():
        assert response.status_code == status, (name, response.text)
        assert response.json()["detail"], name
    assert fleet(hq)[0] == before_fleet[0] | {"last_seen": fleet(hq)[0]["last_seen"]}
    assert fleet(hq)[0]["branch"] == "sh01"
    assert hq_labels(hq) == []

    # The genuine message passes once; replayed, it is refused.
    assert post(hq, "/api/report", REPORT, good).status_code == 200
    assert fleet(hq)[0]["branch"] == "evil"
    counter = last_counter(hq, "kiosk-7")
    assert counter > before_counter
    replay = post(hq, "/api/report", REPORT, good)
    assert replay.status_code == 409
    assert last_counter(hq, "kiosk-7") == counter

    # Revoked: even a fresh, well-signed message is refused.
    cli("hq", "revoke", str(hq.home), "kiosk-7")
    revoked = post(hq, "/api/intake", label, signed(state, "kiosk-7", "/api/intake", label))
    assert revoked.status_code == 403
    assert hq_labels(hq) == []
    assert last_counter(hq, "kiosk-7") == counter


def test_enrol_refuses_a_second_key_until_revoked(tmp_path: Path, hq: Hq) -> None:
    state, _ = provision(tmp_path, hq)
    result = runner.invoke(
        kiosk_cli, ["hq", "enrol", str(hq.home), "--kiosk-id", "kiosk-7", "--public-key", str(state / "nope")]
    )
    assert result.exit_code == 1
    pub = state / "sync" / "identity" / "device.pub"
    again = runner.invoke(kiosk_cli, ["hq", "enrol", str(hq.home), "--kiosk-id", "kiosk-7", "--public-key", str(pub)])
    assert again.exit_code == 1
    assert "revoke it first" in again.output
    listed = runner.invoke(kiosk_cli, ["hq", "kiosks", str(hq.home)])
    assert [json.loads(line)["kiosk_id"] for line in listed.stdout.splitlines()] == ["kiosk-7"]
    shutil.copy(pub, tmp_path / "pub")
    cli("hq", "revoke", str(hq.home), "kiosk-7")
    assert cli("hq", "enrol", str(hq.home), "--kiosk-id", "kiosk-7", "--public-key", str(tmp_path / "pub"))
