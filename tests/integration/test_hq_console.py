"""The HQ console (``kiosk hq serve``): sign-in on every route, fleet, rollout, label intake, KPIs and fairness.

The app is the real one (create_hq_app) over a real repository and store,
driven through Starlette's TestClient; the KPI queries also run on PostgreSQL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from kiosk.admin.accounts import AdminDB
from sync.bundle import write_manifest
from sync.hq.console import ConsoleSettings
from sync.hq.db import HqDB
from sync.hq.repository import HqRepository
from sync.hq.rollout import RolloutPlan, start_rollout
from sync.hq.server import create_hq_app
from sync.hq_cli import store_url
from tests.integration.hq_console_helpers import (
    CARD,
    DAY,
    SeededHq,
    publish_demo,
    rows_of,
    seed,
    set_last_seen,
    sign_in,
)

KIOSK_ROUTES = {"/api/report", "/api/intake"}  # signed by kiosks, not operators
SIGN_IN_ROUTES = {"/login", "/logout"}


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store' / 'hq.db'}"


@pytest.fixture
def hq(tmp_path: Path) -> SeededHq:
    return seed(tmp_path, sqlite_url(tmp_path))


@pytest.fixture
def client(hq: SeededHq) -> Iterator[TestClient]:
    app = create_hq_app(hq.home, db_url=store_url(hq.home, ""), console=ConsoleSettings(offline_after_s=900))
    with TestClient(app, base_url="http://hq.test") as test_client:
        yield test_client


def app_of(client: TestClient) -> Any:
    return client.app


def console_routes(app: Any) -> list[APIRoute]:
    return [r for r in app.routes if isinstance(r, APIRoute) and r.path not in KIOSK_ROUTES | SIGN_IN_ROUTES]


def test_every_console_route_needs_sign_in(client: TestClient) -> None:
    routes = console_routes(app_of(client))
    paths = {r.path for r in routes}
    assert {
        "/fleet",
        "/rollout",
        "/api/rollouts",
        "/labels",
        "/kpis",
        "/api/fleet",
        "/api/kpis",
        "/api/fairness",
    } <= paths
    seen = []
    for route in routes:
        path = route.path.replace("{label_id}", "1")
        for method in sorted(route.methods or ()):
            response = client.request(method, path, follow_redirects=False, data={"verdict": "accepted"})
            seen.append((method, route.path, response.status_code))
            if method == "GET" and not path.startswith("/api/"):
                assert (response.status_code, response.headers["location"]) == (303, "/login"), (method, path)
            else:
                assert response.status_code == 401, (method, path, response.text)
            assert "sh-1" not in response.text
    assert ("POST", "/labels/{label_id}", 401) in seen
    client.cookies.set("hq_session", "made-up")
    assert client.get("/api/fleet").status_code == 401
    with closing(sqlite3.connect(app_of(client).state.hq_db.url.removeprefix("sqlite:///"))) as db:
        assert db.execute("SELECT status FROM labels WHERE id = 1").fetchone()[0] == "new"  # the post did nothing


def test_fleet_shows_health_versions_and_offline_kiosks(hq: SeededHq, client: TestClient) -> None:
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="seconds")
    set_last_seen(hq.store, "bj-1", an_hour_ago)
    sign_in(client)
    rows = {r["kiosk_id"]: r for r in rows_of(client.get("/api/fleet"))}
    assert {k: (r["branch"], r["online"], r["healthy"]) for k, r in rows.items()} == {
        "bj-1": ("bj02", False, True),
        "sh-1": ("sh01", True, True),
        "sh-2": ("sh01", True, False),
    }
    summary = client.get("/api/fleet/summary").json()
    assert (summary["kiosks"], summary["online"], summary["offline"], summary["unhealthy"]) == (3, 2, 1, 1)
    assert summary["versions"] == {"nlu": {"1.0": 2, "2.0": 1}, "policy": {"1.1": 2}}
    page = client.get("/fleet")
    assert page.status_code == 200
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "<script>alert" not in page.text  # what a kiosk reports is escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt; nlu 2.0 failed golden cases" in page.text
    assert 'data-kiosk="bj-1"' in page.text
    assert "1 h 0 min ago" in page.text
    assert '<td>nlu</td><td><span class="pill">1.0 × 2</span>' in page.text
    assert client.get("/console.css").headers["content-type"].startswith("text/css")


def test_rollout_shows_published_targets_and_who_runs_them(hq: SeededHq, client: TestClient, tmp_path: Path) -> None:
    sign_in(client)
    assert rows_of(client.get("/api/rollout")) == []
    assert "Nothing published yet" in client.get("/rollout").text
    publish_demo(hq.home, tmp_path, "2.0", 25)
    publish_demo(hq.home, tmp_path, "2.1", 5, channel="canary")
    db = HqDB(hq.store)
    try:
        db.record_report("sh-1", branch="sh01", versions={"demo": "2.0"}, healthy=True, last_error="", rejected={})
    finally:
        db.close()
    rows = rows_of(client.get("/api/rollout"))
    assert [(r["channel"], r["name"], r["version"], r["percent"], r["published"], r["running"]) for r in rows] == [
        ("canary", "demo", "2.1", 5, True, 0),
        ("stable", "demo", "2.0", 25, True, 1),
    ]
    page = client.get("/rollout").text
    assert 'data-target="demo-2.1"' in page
    assert '<meter min="0" max="100" value="25">' in page


def test_rollout_page_shows_a_staged_rollout_and_its_health(hq: SeededHq, client: TestClient, tmp_path: Path) -> None:
    sign_in(client)
    assert client.get("/api/rollouts").json() == []
    assert "No staged rollout yet" in client.get("/rollout").text
    directory = tmp_path / "demo-3.0"
    directory.mkdir()
    (directory / "about.txt").write_text("demo 3.0\n")
    write_manifest(directory, name="demo", kind="embedder", version="3.0")
    db = HqDB(hq.store)
    try:
        start_rollout(HqRepository(hq.home), db, [directory], RolloutPlan(stages=(5, 25, 100), branches=("sh01",)))
        db.record_report("sh-1", branch="sh01", versions={"demo": "3.0"}, healthy=False, last_error="", rejected={})
    finally:
        db.close()
    (staged,) = client.get("/api/rollouts").json()
    assert (staged["name"], staged["version"], staged["percent"], staged["state"]) == ("demo", "3.0", 5, "running")
    assert (staged["kiosks_new"], staged["kiosks_failed"]) == (0, 1)  # unhealthy on the new version counts as failed
    page = client.get("/rollout").text
    assert 'data-rollout="demo-3.0"' in page
    assert "1 of 3: 5 % + sh01" in page


def test_operator_accepts_and_rejects_labels_audited(hq: SeededHq, client: TestClient) -> None:
    token = sign_in(client)
    assert token
    page = client.get("/labels")
    assert CARD not in page.text
    assert "my card [card ****3445] was eaten" in page.text
    new = rows_of(client.get("/api/labels"))
    assert [(r["id"], r["intent"], r["status"]) for r in new] == [(1, "card_lost", "new"), (2, "e_cny_wallet", "new")]

    forged = client.post("/labels/1", data={"verdict": "accepted", "csrf": "guess"}, follow_redirects=False)
    assert forged.status_code == 403
    accepted = client.post("/labels/1", data={"verdict": "accepted", "csrf": token}, follow_redirects=False)
    assert (accepted.status_code, accepted.headers["location"]) == (303, "/labels?status=new")
    by_header = client.post("/labels/2", data={"verdict": "rejected"}, headers={"X-CSRF-Token": token})
    assert (by_header.status_code, by_header.json()["status"], by_header.json()["judged_by"]) == (
        200,
        "rejected",
        "ops",
    )
    assert client.post("/labels/99", data={"verdict": "accepted", "csrf": token}).status_code == 404
    assert client.post("/labels/1", data={"verdict": "maybe", "csrf": token}).status_code == 422

    assert rows_of(client.get("/api/labels")) == []
    assert [r["id"] for r in rows_of(client.get("/api/labels?status=accepted"))] == [1]
    db = HqDB(hq.store)
    try:
        assert [(r["id"], r["status"], r["judged_by"]) for r in db.labels()] == [
            (1, "accepted", "ops"),
            (2, "rejected", "ops"),
        ]
    finally:
        db.close()
    audit = app_of(client).state.operators.audit_log(action="hq_label_accepted")
    assert [(a["username"], a["target"]) for a in audit] == [("ops", "label:1")]
    assert len(app_of(client).state.operators.audit_log(action="hq_label_rejected")) == 1


def test_a_viewer_sees_labels_but_cannot_judge_them(client: TestClient) -> None:
    sign_in(client, "watcher")
    page = client.get("/labels")
    assert page.status_code == 200
    assert "(viewer)" in page.text
    assert "Accept 接受" not in page.text
    refused = client.post("/labels/1", data={"verdict": "accepted"}, headers={"X-CSRF-Token": "x"})
    assert refused.status_code == 403
    assert [r["status"] for r in rows_of(client.get("/api/labels?status=all"))] == ["new", "new"]


def kpis(client: TestClient, by: str) -> dict[str, tuple[Any, ...]]:
    answer = client.get(f"/api/kpis?by={by}&since=2026-11-01&until=2026-12-31").json()
    assert (answer["since"], answer["until"]) == ("2026-11-01", "2026-12-31")
    return {
        r["group"]: (r["turns"], r["decided"], r["clarified"], r["handed_off"], r["risk_alerts"], r["risk_turns"])
        for r in answer["rows"]
    }


def check_kpis(client: TestClient) -> None:
    assert kpis(client, "branch") == {"sh01": (25, 18, 4, 3, 1, 25), "bj02": (20, 10, 6, 4, None, 0)}
    assert kpis(client, "lang") == {"zh": (35, 23, 7, 5, 1, 15), "en": (10, 5, 3, 2, 0, 10)}
    assert kpis(client, "intent") == {"card_lost": (40, 23, 10, 7, 1, 20), "fx_rate": (5, 5, 0, 0, 0, 5)}
    rates = client.get("/api/kpis?by=branch&since=2026-11-01&until=2026-12-31").json()["rows"][0]
    assert rates["group"] == "sh01"
    assert (rates["decided_rate"], rates["clarification_rate"], rates["handoff_rate"]) == (0.72, 0.16, 0.12)
    assert rates["risk_alert_rate"] == 0.04
    fair = client.get("/api/fairness?since=2026-11-01&until=2026-12-31").json()
    assert [(r["group"], r["turns"], r["decided"]) for r in fair["languages"]] == [("zh", 35, 23), ("en", 10, 5)]
    assert [(r["group"], r["turns"], r["decided"], r["clarified"], r["handed_off"], r["risk_alerts"]) for r in
            fair["modes"]] == [("elderly mode", 5, 3, 1, 1, 1), ("standard", 20, 15, 3, 2, 0)]  # fmt: skip
    assert fair["not_reported_turns"] == 20
    assert (fair["language_gap_pp"], fair["mode_gap_pp"]) == (15.7, -15.0)
    assert fair["flagged"] == ["zh vs en", "elderly vs standard"]
    assert client.get("/api/kpis?by=branch&since=2027-01-01&until=2027-01-31").json()["rows"] == []
    one = client.get("/api/fairness?since=2026-11-01&until=2026-12-31&branch=sh01").json()
    assert [(r["group"], r["turns"]) for r in one["languages"] + one["modes"]] == [
        ("zh", 15),
        ("en", 10),
        ("elderly mode", 5),
        ("standard", 20),
    ]
    assert one["not_reported_turns"] == 0
    assert kpis(client, "intent&branch=bj02") == {"card_lost": (20, 10, 6, 4, None, 0)}


def test_kpis_per_branch_intent_language_and_fairness(client: TestClient) -> None:
    sign_in(client)
    check_kpis(client)
    page = client.get(f"/kpis?since={DAY}&until={DAY}")
    assert page.status_code == 200
    assert 'id="fair-lang"' in page.text
    assert 'data-group="elderly mode"' in page.text
    assert "not reported" in page.text  # bj02's risk alerts
    assert "+15.7 pp" in page.text
    assert '<option value="bj02">bj02</option>' in page.text
    only = client.get(f"/kpis?since={DAY}&until={DAY}&branch=bj02").text
    assert "Fairness 公平性 · bj02" in only
    assert '<option value="bj02" selected>bj02</option>' in only
    assert 'data-group="sh01"' not in only
    assert "20 turns from kiosks that do not report the elderly-mode split" in page.text
    assert client.get("/api/kpis?since=2026-13-01").status_code == 422
    assert client.get("/api/kpis?since=2026-12-31&until=2026-12-01").status_code == 422
    assert client.get("/api/kpis?by=colour").status_code == 422


def test_kpis_on_postgresql(tmp_path: Path, pg_server: Any) -> None:
    """The grouped sums and CASEs give the same figures on PostgreSQL."""
    hq = seed(tmp_path, pg_server.create_database())
    app = create_hq_app(hq.home, db_url=store_url(hq.home, ""))
    with TestClient(app, base_url="http://hq.test") as client:
        sign_in(client)
        check_kpis(client)


def test_add_user_refuses_an_unknown_role(hq: SeededHq) -> None:
    from typer.testing import CliRunner

    from kiosk.cli import app as kiosk_cli

    args = ["hq", "add-user", str(hq.home), "boss", "--role", "admin", "--password-stdin"]
    result = CliRunner().invoke(kiosk_cli, args, input="long enough password\n")
    assert result.exit_code == 1
    assert "role must be one of viewer, operator" in result.output
    assert [u.username for u in AdminDB(hq.home / "operators.db").users()] == ["ops", "watcher"]
