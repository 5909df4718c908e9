"""The admin page in-process with the real engine and store: sign-in, roles, CSRF, masking, queue, review."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from kiosk.admin.security import AttemptLimiter
from kiosk.config import DEFAULT_POLICY_DIR, Settings
from kiosk.web import create_app
from tests.integration.admin_helpers import RAW, add_users, converse, csrf_of, sign_in
from tests.integration.runtime_helpers import kiosk_client

PAGES = (
    "/admin/",
    "/admin/live",
    "/admin/handoffs",
    "/admin/conversations",
    "/admin/review",
    "/admin/metrics",
    "/admin/settings",
    "/admin/audit",
    "/admin/updates",
)


@pytest.fixture
def client(tmp_path: Path, nlu_bundle: Path) -> Iterator[TestClient]:
    settings = Settings(state_dir=tmp_path / "state", seed_dirs=(DEFAULT_POLICY_DIR, nlu_bundle))
    add_users(settings.db_path)
    with kiosk_client(create_app(settings)) as test_client:
        converse(test_client)
        yield test_client


@pytest.fixture(scope="module")
def shared_app(tmp_path_factory: pytest.TempPathFactory, nlu_bundle: Path) -> Iterator[TestClient]:
    """One app for the table tests (each signs in afresh); tests must not depend on each other's changes."""
    state = tmp_path_factory.mktemp("admin") / "state"
    settings = Settings(state_dir=state, seed_dirs=(DEFAULT_POLICY_DIR, nlu_bundle))
    add_users(settings.db_path)
    with kiosk_client(create_app(settings)) as test_client:
        converse(test_client)
        # Many sign-ins from one client in a minute: lift the per-client limit (tested on its own below).
        test_client.app.state.admin.limiter = AttemptLimiter(max_attempts=10_000)  # type: ignore[attr-defined]
        yield test_client


@pytest.fixture
def shared(shared_app: TestClient) -> TestClient:
    shared_app.cookies.clear()
    return shared_app


def admin_routes() -> list[tuple[str, str]]:
    """Every route of the admin routers (FastAPI includes routers lazily, so read them at the source)."""
    from kiosk.admin import routes_auth, routes_desk, routes_manage

    sources = [
        ("/admin", routes_auth.router),
        ("/admin", routes_desk.router),
        ("/admin", routes_manage.router),
        ("", routes_manage.metrics_router),
    ]
    out = []
    for prefix, router in sources:
        for route in router.routes:
            assert isinstance(route, APIRoute)
            path = prefix + route.path
            if path.startswith("/admin/login"):
                continue
            path = path.replace("{handoff_id}", "1").replace("{turn_id}", "1").replace("{status}", "accepted")
            out.extend((method, path) for method in route.methods)
    return out


def test_no_page_or_api_answers_without_sign_in(shared: TestClient) -> None:
    client = shared
    routes = admin_routes()
    assert len(routes) >= 18
    for method, path in routes:
        response = client.request(method, path, follow_redirects=False)
        if method == "GET" and not path.startswith(("/admin/api/", "/metrics")):
            assert (response.status_code, response.headers.get("location")) == (303, "/admin/login"), path
        else:
            assert response.status_code in (401, 403), (method, path, response.status_code)
        assert "money thing" not in response.text
    assert client.get("/healthz").status_code == 200


def test_forged_cookie_is_refused(shared: TestClient) -> None:
    client = shared
    client.cookies.set("kiosk_admin", "forged.deadbeef")
    assert client.get("/admin/api/status").status_code == 401


def test_pages_render_for_a_signed_in_user_with_security_headers(shared: TestClient) -> None:
    client = shared
    sign_in(client, "clerk")
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert "<script>" not in response.text, path
        assert " style=" not in response.text, path
    status = client.get("/admin/api/status").json()
    assert status["waiting"] >= 2
    assert status["risk"] >= 1


def test_masked_data_stays_masked_everywhere(client: TestClient, tmp_path: Path) -> None:
    csrf = sign_in(client, "sup")
    turn = client.get("/admin/review").text
    turn_id = int(turn.split('data-turn="')[1].split('"')[0])
    assert (
        client.post(
            f"/admin/review/{turn_id}", data={"csrf": csrf, "intent": "card_lost"}, follow_redirects=False
        ).status_code
        == 303
    )
    seen = {path: client.get(path).text for path in PAGES}
    seen["prometheus"] = client.get("/metrics").text
    seen["sessions"] = client.get("/admin/conversations", params={"session_id": "s-card"}).text
    assert "[card ****1111]" in seen["sessions"]
    assert "[phone ****5678]" in seen["/admin/handoffs"]
    for name, text in seen.items():
        for raw in RAW:
            assert raw not in text, (name, raw)


def test_a_handoff_is_accepted_and_a_risk_alert_needs_a_note(client: TestClient) -> None:
    csrf = sign_in(client, "clerk")
    queue = client.get("/admin/handoffs").text
    assert queue.index("RISK ALERT") < queue.index("Hand-off 转人工")
    store = client.app.state.admin.store  # type: ignore[attr-defined]
    risk = next(h for h in store.handoffs() if h.kind == "risk")
    plain = next(h for h in store.handoffs() if h.kind == "handoff")
    assert (
        client.post(f"/admin/handoffs/{plain.id}/accepted", data={"csrf": csrf}, follow_redirects=False).status_code
        == 303
    )
    assert client.post(f"/admin/handoffs/{plain.id}/accepted", data={"csrf": csrf}).status_code == 409
    assert client.post(f"/admin/handoffs/{risk.id}/resolved", data={"csrf": csrf, "note": ""}).status_code == 422
    assert store.handoff(risk.id).status == "waiting"
    note = f"called the customer back on {RAW[2]}, transfer stopped"
    assert (
        client.post(
            f"/admin/handoffs/{risk.id}/resolved", data={"csrf": csrf, "note": note}, follow_redirects=False
        ).status_code
        == 303
    )
    assert store.handoff(risk.id).status == "resolved"
    events = store.handoff_events(risk.id)
    assert events[-1]["by"] == "clerk"
    assert RAW[2] not in events[-1]["note"]
    audit = client.get("/admin/audit").text
    assert "handoff_resolved" in audit
    assert "handoff_accepted" in audit
    assert RAW[2] not in audit


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/admin/handoffs/1/accepted", {}),
        ("/admin/review/1", {"intent": "fees"}),
        ("/admin/settings", {"name": "volume", "value": "50"}),
        ("/admin/updates/sync-now", {}),
        ("/admin/logout", {}),
    ],
    ids=["accept", "label", "setting", "sync-now", "logout"],
)
@pytest.mark.parametrize("token", ["missing", "wrong"])
def test_csrf_is_rejected(shared: TestClient, path: str, data: dict[str, str], token: str) -> None:
    client = shared
    sign_in(client, "sup")
    if token == "wrong":  # noqa: S105 - a test case id
        data = {**data, "csrf": "x" * 43}
    response = client.post(path, data=data, follow_redirects=False)
    assert response.status_code == 403
    assert "sync_now" not in client.get("/admin/audit").text


def test_sign_in_form_needs_its_csrf_cookie(client: TestClient) -> None:
    client.get("/admin/login")
    response = client.post("/admin/login", data={"username": "sup", "password": "x", "csrf": "not-the-cookie"})
    assert response.status_code == 403


def test_staff_cannot_do_supervisor_actions(client: TestClient) -> None:
    csrf = sign_in(client, "clerk")
    assert (
        client.post("/admin/settings", data={"csrf": csrf, "name": "model_threshold", "value": "0.8"}).status_code
        == 403
    )
    assert (
        client.post("/admin/updates/rollback", data={"csrf": csrf, "name": "policy", "version": "x"}).status_code == 403
    )
    assert (
        client.post(
            "/admin/settings", data={"csrf": csrf, "name": "volume", "value": "40"}, follow_redirects=False
        ).status_code
        == 303
    )
    assert (
        "supervisor only" in client.get("/admin/updates").text or "Roll back" not in client.get("/admin/updates").text
    )


@pytest.mark.parametrize(
    ("name", "value", "ok"),
    [
        ("model_threshold", "0.8", True),
        ("model_threshold", "0.2", False),
        ("model_threshold", "abc", False),
        ("max_misses", "9", False),
        ("opening_hours", "08:30-18:00", True),
        ("opening_hours", "18:00-08:30", False),
        ("default_lang", "fr", False),
        ("nonsense", "1", False),
    ],
    ids=[
        "threshold-ok",
        "threshold-low",
        "threshold-nan",
        "misses-high",
        "hours-ok",
        "hours-backwards",
        "lang-fr",
        "unknown",
    ],
)
def test_settings_stay_within_bounds_and_are_audited(shared: TestClient, name: str, value: str, ok: bool) -> None:
    client = shared
    csrf = sign_in(client, "sup")
    before = client.app.state.admin.store.get_setting(f"admin.{name}")  # type: ignore[attr-defined]
    response = client.post("/admin/settings", data={"csrf": csrf, "name": name, "value": value}, follow_redirects=False)
    store = client.app.state.admin.store  # type: ignore[attr-defined]
    if ok:
        assert response.status_code == 303
        assert str(store.get_setting(f"admin.{name}")) == value
        entry = client.app.state.admin.db.audit_log(1)[0]  # type: ignore[attr-defined]
        assert (entry["username"], entry["action"], entry["target"]) == ("sup", "setting", name)
    else:
        assert response.status_code == 422
        assert 'class="error"' in response.text
        assert store.get_setting(f"admin.{name}") == before


def test_wrong_passwords_lock_the_account(client: TestClient) -> None:
    for _ in range(5):
        form = client.get("/admin/login")
        response = client.post(
            "/admin/login", data={"username": "clerk", "password": "wrong password", "csrf": csrf_of(form.text)}
        )
        assert response.status_code == 401
    form = client.get("/admin/login")
    response = client.post(
        "/admin/login", data={"username": "clerk", "password": "correct horse battery", "csrf": csrf_of(form.text)}
    )
    assert response.status_code == 401
    assert "too many failed sign-ins" in response.text
    ctx = client.app.state.admin  # type: ignore[attr-defined]
    real = ctx.clock
    ctx.clock = lambda: real() + 16 * 60
    sign_in(client, "clerk")


def test_session_expires_when_idle(client: TestClient) -> None:
    sign_in(client, "clerk")
    ctx = client.app.state.admin  # type: ignore[attr-defined]
    real = ctx.clock
    ctx.clock = lambda: real() + 29 * 60
    assert client.get("/admin/", follow_redirects=False).status_code == 200
    ctx.clock = lambda: real() + 29 * 60 + 31 * 60
    assert client.get("/admin/", follow_redirects=False).headers["location"] == "/admin/login"


def test_sign_out_ends_the_session(client: TestClient) -> None:
    csrf = sign_in(client, "clerk")
    cookie = client.cookies.get("kiosk_admin")
    assert client.post("/admin/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    client.cookies.set("kiosk_admin", cookie or "")
    assert client.get("/admin/api/status").status_code == 401


def test_prometheus_metrics_need_sign_in_or_the_token(client: TestClient) -> None:
    assert client.get("/metrics").status_code == 401
    state = client.app.state.admin.settings.state_dir  # type: ignore[attr-defined]
    (state / "admin" / "metrics-token").write_text("t" * 32)
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    text = client.get("/metrics", headers={"Authorization": "Bearer " + "t" * 32}).text
    assert 'kiosk_handoffs_total{kind="risk"}' in text
    assert "kiosk_turns_total{" in text
    assert "kiosk_turn_latency_ms_count 5" in text


def test_live_events_stream_new_turns(client: TestClient) -> None:
    sign_in(client, "clerk")
    ctx = client.app.state.admin  # type: ignore[attr-defined]
    ctx.config = ctx.config.model_copy(update={"live_max_seconds": 1.0, "live_poll_seconds": 0.1})
    with client.stream("GET", "/admin/api/live", params={"after": 0}) as response:
        body = "".join(response.iter_text())
    events = [json.loads(line[6:]) for line in body.splitlines() if line.startswith("data: ")]
    assert [e["session_id"] for e in events][:2] == ["s-card", "s-fraud"]
    assert "[card ****1111]" in events[0]["text"]


def test_sync_now_and_rollback(client: TestClient, tmp_path: Path) -> None:
    from bundles.activation import active_manifest, install_bundle
    from bundles.manifest import write_manifest

    csrf = sign_in(client, "sup")
    state = client.app.state.admin.settings.state_dir  # type: ignore[attr-defined]
    current = active_manifest(state, "policy")
    assert current is not None
    older = tmp_path / "older-policy"
    import shutil

    shutil.copytree(DEFAULT_POLICY_DIR, older)
    write_manifest(older, name="policy", kind="policy", version="2000.01.01-1", origin="hq")
    install_bundle(older, state)
    assert "2000.01.01-1" in client.get("/admin/updates").text
    response = client.post(
        "/admin/updates/rollback",
        data={"csrf": csrf, "name": "policy", "version": "2000.01.01-1"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert active_manifest(state, "policy").version == "2000.01.01-1"  # type: ignore[union-attr]
    bad = client.post("/admin/updates/rollback", data={"csrf": csrf, "name": "policy", "version": "9.9"})
    assert bad.status_code == 409
    assert client.post("/admin/updates/sync-now", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    assert (state / "sync" / "request-now").is_file()
    audit = client.get("/admin/audit").text
    assert "rollback" in audit
    assert current.version in audit
    assert "sync_now" in audit


def test_cli_creates_users_and_exports_labels(client: TestClient, tmp_path: Path) -> None:
    state = client.app.state.admin.settings.state_dir  # type: ignore[attr-defined]
    kiosk = [sys.executable, "-m", "kiosk.cli"] if False else [str(Path(sys.executable).parent / "kiosk")]
    made = subprocess.run(
        [*kiosk, "admin", "create-user", "newbie", "--role", "staff", "--password-stdin", "--state-dir", str(state)],
        input="long enough pw\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    again = subprocess.run(
        [*kiosk, "admin", "create-user", "newbie", "--password-stdin", "--state-dir", str(state)],
        input="long enough pw\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert again.returncode == 1
    assert "already exists" in again.stderr
    csrf = sign_in(client, "newbie", "long enough pw")
    page = client.get("/admin/review").text
    ids = [int(x.split('"')[0]) for x in page.split('data-turn="')[1:]]
    assert ids, "nothing to review"
    for turn_id in ids:
        client.post(f"/admin/review/{turn_id}", data={"csrf": csrf, "intent": "card_lost"})
    out = tmp_path / "labels.jsonl"
    exported = subprocess.run(
        [*kiosk, "admin", "export-labels", "--out", str(out), "--state-dir", str(state)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert exported.returncode == 0, exported.stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == len(ids)
    assert all(set(r) == {"text", "lang", "intent"} and r["intent"] == "card_lost" for r in rows)
    assert not any(raw in out.read_text(encoding="utf-8") for raw in RAW)


def test_sign_in_attempts_are_rate_limited(client: TestClient) -> None:
    codes = []
    for _ in range(11):
        form = client.get("/admin/login")
        codes.append(
            client.post(
                "/admin/login", data={"username": "nobody", "password": "x", "csrf": csrf_of(form.text)}
            ).status_code
        )
    assert codes == [401] * 10 + [429]


def test_rate_limited_sign_ins_are_counted_not_audited(client: TestClient) -> None:
    admin = client.app.state.admin  # type: ignore[attr-defined]
    admin.limiter = AttemptLimiter(max_attempts=2)
    for _ in range(30):
        form = client.get("/admin/login")
        client.post("/admin/login", data={"username": "nobody", "password": "x", "csrf": csrf_of(form.text)})
    assert admin.limiter.blocked == 28
    assert admin.db.audit_log(300, action="sign_in_limited") == []
    assert len(admin.db.audit_log(300, action="sign_in_failed")) == 2
    blocked = admin.limiter.blocked
    admin.limiter = AttemptLimiter(max_attempts=10_000, blocked=blocked)
    sign_in(client, "sup")
    page = client.get("/admin/audit").text
    assert "<strong>28</strong>" in page


def test_handoff_summaries_show_who_wrote_them_and_stay_masked(client: TestClient) -> None:
    sign_in(client, "clerk")
    store = client.app.state.admin.store  # type: ignore[attr-defined]
    human = next(h for h in store.handoffs() if h.session_id == "s-human")
    assert human.summary_source == "extractive"  # no LLM in this app: the extract is final at once
    queue = client.get("/admin/handoffs").text
    assert "Extract 摘录" in queue
    assert "human_agent (safety)" in queue
    assert f'href="/admin/handoffs/{human.id}"' in queue
    detail = client.get(f"/admin/handoffs/{human.id}").text
    assert "I want to talk to a real person" in detail  # the masked conversation
    assert human.summary.split("“")[0] in detail
    assert client.get("/admin/handoffs/99999").status_code == 404
    store.set_handoff_summary(human.id, "The customer asked for a person; call back on 13812345678.", "llm")
    api = client.get(f"/admin/api/handoffs/{human.id}/summary").json()
    assert api["source"] == "llm"
    assert "13812345678" not in api["summary"]
    assert "[phone ****5678]" in api["summary"]
    for page_text in (client.get("/admin/handoffs").text, client.get(f"/admin/handoffs/{human.id}").text):
        assert "AI summary 智能摘要" in page_text
        assert "13812345678" not in page_text
    assert client.get("/admin/static/summaries.js").status_code == 200


def test_lockout_is_per_client_and_the_same_for_unknown_names(tmp_path: Path) -> None:
    from kiosk.admin.accounts import AdminDB
    from kiosk.admin.errors import SignInError

    add_users(tmp_path / "kiosk.db")
    db = AdminDB(tmp_path / "kiosk.db")
    answers: dict[str, list[str]] = {}
    for name in ("clerk", "nobody-here"):
        for _ in range(6):
            with pytest.raises(SignInError) as err:
                db.authenticate(name, "wrong password", 100.0, client="10.0.0.66")
            answers.setdefault(name, []).append(str(err.value))
    # A real name and a made-up one answer alike, attempt by attempt: "locked" reveals nothing.
    assert answers["clerk"] == answers["nobody-here"]
    assert "too many failed sign-ins" in answers["clerk"][-1]
    # The stranger's host is locked out of the name; staff at the branch PC still sign in.
    with pytest.raises(SignInError):
        db.authenticate("clerk", "correct horse battery", 101.0, client="10.0.0.66")
    assert db.authenticate("clerk", "correct horse battery", 101.0, client="127.0.0.1").username == "clerk"
    # The lock ends.
    assert db.authenticate("clerk", "correct horse battery", 100.0 + 16 * 60, client="10.0.0.66").username == "clerk"
    db.close()
