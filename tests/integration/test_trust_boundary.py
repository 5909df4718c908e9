"""The customer side's trust boundary, probed as a stranger on the branch LAN would (issue 16).

Each test replays one reproduction from the probe and asserts it is refused or masked:
the page app in-process (TestClient), the whole kiosk with its runtime, and a real
uvicorn server on port 0 for streamed (chunked) uploads.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from kiosk.config import DEFAULT_POLICY_DIR, Settings
from kiosk.dialogue.limits import SideEffectLimits
from kiosk.runtime import DevicesConfig, RuntimeConfig
from kiosk.storage import Store
from kiosk.web import create_app
from kiosk.web.trust import DEVICE_COOKIE, DEVICE_HEADER
from tests.integration.admin_helpers import add_users, sign_in
from tests.integration.runtime_helpers import BUSY_MACHINE, FRIDAY_MORNING, kiosk_client

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

CARD, PHONE, ID = "4111 1111 1111 1111", "13812345678", "11010519491231002X"
PII_TEXT = f"my card {CARD} was stolen, call me on {PHONE}, my ID {ID}, my name is John Smith"
RAW = ("4111 1111 1111 1111", "4111111111111111", PHONE, ID, "John Smith")


def _settings(state: Path, nlu: Path, **extra: Any) -> Settings:
    return Settings(state_dir=state, seed_dirs=(DEFAULT_POLICY_DIR, nlu), use_llm=False, use_embedder=False, **extra)


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory, nlu_bundle: Path) -> Iterator[TestClient]:
    """The page app (no runtime) as the kiosk screen sees it: loopback host, device token."""
    state = tmp_path_factory.mktemp("page") / "state"
    with kiosk_client(create_app(_settings(state, nlu_bundle))) as client:
        yield client


@pytest.fixture(scope="module")
def kiosk(tmp_path_factory: pytest.TempPathFactory, nlu_bundle: Path) -> Iterator[TestClient]:
    """The whole kiosk on simulated devices (no speech: faster), as the kiosk screen."""
    state = tmp_path_factory.mktemp("kiosk") / "state"
    config = RuntimeConfig(
        width=270, height=480, fps=5.0, speak=False, devices=DevicesConfig(camera="none"), budgets=BUSY_MACHINE
    )
    with kiosk_client(create_app(_settings(state, nlu_bundle, runtime=config))) as client:
        client.app.state.runtime.now = lambda: FRIDAY_MORNING  # type: ignore[attr-defined]
        yield client


def stranger(client: TestClient, **kwargs: Any) -> TestClient:
    """The same app, reached without the device token (a LAN client that knows the address)."""
    return TestClient(client.app, base_url="http://127.0.0.1", **kwargs)


# -- 1. the device token ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/session", None),
        ("POST", "/api/turn", {"session": "s", "text": "I want to talk to a real person"}),
        ("GET", "/api/kiosk/state", None),
        ("POST", "/api/kiosk/input", {"text": "hi"}),
        ("POST", "/api/kiosk/presence", {"walk": "up"}),
        ("POST", "/api/kiosk/card", {"action": "unplug"}),
        ("GET", "/avatar/frame.png", None),
        ("GET", "/avatar/stream.mjpg?frames=1", None),
    ],
)
def test_customer_and_avatar_endpoints_need_the_device_token(
    kiosk: TestClient, method: str, path: str, body: dict[str, Any] | None
) -> None:
    outsider = stranger(kiosk)
    assert outsider.request(method, path, json=body).status_code == 401
    forged = outsider.request(method, path, json=body, headers={DEVICE_HEADER: "guessed-token"})
    assert forged.status_code == 401
    assert outsider.request(method, path, json=body, cookies={DEVICE_COOKIE: "guessed"}).status_code == 401


def test_the_device_token_is_per_process_and_written_for_the_kiosk_browser(page: TestClient) -> None:
    token = page.app.state.device_token  # type: ignore[attr-defined]
    assert len(token) >= 40
    state_dir = Path(page.app.state.admin.settings.state_dir)  # type: ignore[attr-defined]
    written = state_dir / "device-token"
    assert written.read_text(encoding="utf-8") == token
    assert written.stat().st_mode & 0o777 == 0o600
    other = create_app(page.app.state.admin.settings)  # type: ignore[attr-defined]
    assert other.state.device_token != token


def test_the_kiosk_page_hands_out_the_cookie_only_with_the_token(page: TestClient) -> None:
    token = page.app.state.device_token  # type: ignore[attr-defined]
    outsider = stranger(page)
    assert DEVICE_COOKIE not in outsider.get("/kiosk").headers.get("set-cookie", "")  # not loopback, no token
    granted = outsider.get(f"/kiosk?device={token}")
    cookie = granted.headers["set-cookie"]
    assert cookie.startswith(f"{DEVICE_COOKIE}={token}")
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback
    assert outsider.post("/api/session").status_code == 200  # the cookie now opens the customer endpoints


def test_avatar_say_is_not_reachable_over_http(kiosk: TestClient) -> None:
    said = kiosk.post("/avatar/say", json={"text": "请将资金转入安全账户", "lang": "zh"})
    assert said.status_code in (404, 405)
    screen = kiosk.get("/api/kiosk/state").json()["screen"]
    assert "安全账户" not in (screen or {}).get("said", "")


def test_staff_signed_in_may_watch_the_avatar_but_not_act_as_the_customer(kiosk: TestClient) -> None:
    state_dir = Path(kiosk.app.state.admin.settings.state_dir)  # type: ignore[attr-defined]
    add_users(state_dir / "kiosk.db")
    staff = stranger(kiosk)
    sign_in(staff, "clerk")
    assert staff.get("/avatar/frame.png").status_code == 200
    assert staff.post("/api/kiosk/input", json={"text": "hi"}).status_code == 401


# -- 1b. masked text on /state and on the screen ---------------------------------------------------


def test_state_and_the_screen_carry_masked_text_only(kiosk: TestClient) -> None:
    turn = kiosk.post("/api/kiosk/input", json={"text": PII_TEXT})
    assert turn.status_code == 200
    state = kiosk.get("/api/kiosk/state")
    body = state.text
    for raw in RAW:
        assert raw not in body, raw
        assert raw not in turn.text, raw
    assert "[card ****1111]" in body
    screen = state.json()["screen"]
    assert "[phone ****5678]" in screen["heard"]  # what the avatar frame draws
    assert all("session" not in t for t in state.json()["turns"])  # no session id to aim turns at
    runtime = kiosk.app.state.runtime  # type: ignore[attr-defined]
    assert PHONE not in runtime.screen.screen.heard  # the drawn frame's model, not only the JSON


# -- 2. per-session limits through the page ------------------------------------------------------


def test_a_flood_of_scam_turns_raises_two_alerts_not_a_hundred(page: TestClient) -> None:
    for _ in range(100):
        reply = page.post("/api/turn", json={"session": "victim", "text": "有人让我把钱转到安全账户"})
        assert reply.status_code == 200
    for _ in range(20):
        page.post("/api/turn", json={"session": "victim", "text": "I want to talk to a real person"})
        page.post("/api/turn", json={"session": "victim", "button": "slot:queue_ticket:forex"})
    state_dir = Path(page.app.state.admin.settings.state_dir)  # type: ignore[attr-defined]
    store = Store(state_dir / "kiosk.db")
    try:
        mine = [h for h in store.handoffs("waiting") if h.session_id == "victim"]
    finally:
        store.close()
    assert sorted(h.kind for h in mine) == ["handoff", "handoff", "risk", "risk"]


def test_cycling_session_ids_meets_the_kiosk_wide_limit(
    tmp_path_factory: pytest.TempPathFactory, nlu_bundle: Path
) -> None:
    state = tmp_path_factory.mktemp("limits") / "state"
    limits = SideEffectLimits(window_s=86_400, tickets=3, handoffs=2)  # a day: no test depends on speed
    with kiosk_client(create_app(_settings(state, nlu_bundle, side_effects=limits))) as client:
        tickets = [
            client.post("/api/turn", json={"session": f"s{i}", "button": "slot:queue_ticket:forex"}).json()
            for i in range(30)
        ]
        staff = [
            client.post("/api/turn", json={"session": f"h{i}", "text": "I want a real person"}).json()
            for i in range(10)
        ]
    assert sum(t["ticket"] is not None for t in tickets) == 3
    assert "号票太多" in tickets[-1]["reply"]
    assert sum(t["handoff"] is not None for t in staff) == 2
    assert "too many requests" in staff[-1]["reply"]
    store = Store(state / "kiosk.db")
    try:
        assert store.refused_effects() == {"ticket": 27, "handoff": 8}
        assert len(store.handoffs("waiting")) == 2
    finally:
        store.close()


# -- 3./4. Host, Origin, content type, sizes, errors -----------------------------------------------


@pytest.mark.parametrize("path", ["/api/kiosk/state", "/admin/login", "/healthz", "/kiosk"])
def test_a_foreign_host_header_is_refused_everywhere(kiosk: TestClient, path: str) -> None:
    assert kiosk.get(path, headers={"Host": "evil.example"}).status_code == 400


@pytest.mark.parametrize(
    ("path", "origin"),
    [
        ("/api/kiosk/input", "http://evil.example"),
        ("/api/kiosk/voice", "http://evil.example"),
        ("/api/turn", "null"),
        ("/admin/login", "https://127.0.0.1.evil.example"),
    ],
)
def test_cross_origin_posts_are_refused(kiosk: TestClient, path: str, origin: str) -> None:
    response = kiosk.post(
        path, content=b'{"text": "hi"}', headers={"Origin": origin, "Content-Type": "application/json"}
    )
    assert response.status_code == 403


def test_same_origin_posts_pass(kiosk: TestClient) -> None:
    headers = {"Origin": "http://127.0.0.1", "Content-Type": "application/json"}
    assert kiosk.post("/api/kiosk/input", content=b'{"text": "hello"}', headers=headers).status_code == 200


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; b=x"])
def test_simple_content_types_are_refused_on_customer_endpoints(kiosk: TestClient, ctype: str) -> None:
    for path in ("/api/kiosk/voice", "/api/kiosk/input", "/api/turn"):
        assert kiosk.post(path, content=b"RIFF", headers={"Content-Type": ctype}).status_code == 415


def test_an_oversized_upload_is_refused_by_its_length(kiosk: TestClient) -> None:
    big = b"RIFF" + b"\0" * 6_000_000
    assert kiosk.post("/api/kiosk/voice", content=big, headers={"Content-Type": "audio/wav"}).status_code == 413
    assert kiosk.post("/api/turn", content=b"{" + b" " * 70_000 + b"}").status_code == 413


def test_validation_errors_name_fields_and_never_echo_input(page: TestClient) -> None:
    secret_key = "k" * 30_000
    body = json.dumps({"session": "a", "text": "x" * 3000, secret_key: PHONE})
    response = page.post("/api/turn", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert len(response.content) < 2000
    assert PHONE not in response.text
    assert "x" * 100 not in response.text
    locs = [e["loc"] for e in response.json()["detail"]]
    assert ["body", "text"] in locs


@pytest.mark.parametrize(
    "raw",
    [
        b'{"session": "a", "text": "\\udc80"}',
        b'{"session": "a", "text": "ok \\ud800 then"}',
        b'{"session": "a", "button": "\\udfff"}',
        b'{"session": "a", "text": "\xff\xfe bad bytes"}',
        b'{"session": "\\udc80", "text": "hi"}',
    ],
    ids=["lone-low", "lone-high", "button", "not-utf8", "session"],
)
def test_undecodable_text_is_a_client_error_not_a_500(page: TestClient, kiosk: TestClient, raw: bytes) -> None:
    headers = {"Content-Type": "application/json"}
    assert page.post("/api/turn", content=raw, headers=headers).status_code in (400, 422)
    if b'"session": "a"' not in raw:
        return
    as_input = raw.replace(b'"session": "a", ', b"")
    assert kiosk.post("/api/kiosk/input", content=as_input, headers=headers).status_code in (400, 422)


# -- 3. a real server: chunked 100 MB bodies are cut off, memory does not grow ------------------------


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, nlu_bundle: Path) -> Iterator[tuple[str, str]]:
    """The page app on a real uvicorn server on port 0 (in this process, so its memory is ours)."""
    import uvicorn

    app = create_app(_settings(tmp_path_factory.mktemp("srv") / "state", nlu_bundle))
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not srv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    port = srv.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", app.state.device_token
    finally:
        srv.should_exit = True
        thread.join(timeout=20)


@pytest.mark.parametrize("path", ["/api/turn", "/api/kiosk/voice", "/admin/login"])
def test_a_chunked_100mb_body_is_cut_off_without_being_read(server: tuple[str, str], path: str) -> None:
    base, token = server
    sent = 0
    chunk = b"0" * 65536

    def body() -> Iterator[bytes]:
        nonlocal sent
        while sent < 100 * 1024 * 1024:
            sent += len(chunk)
            yield chunk

    before = _rss_mb()
    ctype = "audio/wav" if path.endswith("voice") else "application/json"
    headers = {DEVICE_HEADER: token, "Content-Type": ctype}
    if path == "/admin/login":
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        response = httpx.post(f"{base}{path}", content=body(), headers=headers, timeout=30)
        status: int | None = response.status_code
    except httpx.TransportError:  # the server answered 413 and closed while we were still sending
        status = None
    assert status in (413, None)
    assert sent < 30 * 1024 * 1024, f"the client could push {sent} bytes"
    assert _rss_mb() - before < 50
    assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200  # still serving


def test_a_declared_huge_body_is_refused_before_reading(server: tuple[str, str]) -> None:
    import socket

    base, token = server
    port = int(base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"POST /api/turn HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + f"{DEVICE_HEADER}: {token}\r\nContent-Length: 104857600\r\n\r\n".encode()
        )
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413")


def test_a_same_origin_form_post_with_a_null_origin_passes_but_not_from_another_site(kiosk: TestClient) -> None:
    """Under "Referrer-Policy: no-referrer" Chromium posts its own forms with "Origin: null"."""
    json_type = {"Content-Type": "application/json", "Origin": "null"}
    ours = kiosk.post(
        "/api/kiosk/input", content=b'{"text": "hello"}', headers={**json_type, "Sec-Fetch-Site": "same-origin"}
    )
    assert ours.status_code == 200
    for site in ("cross-site", "same-site"):
        theirs = kiosk.post(
            "/api/kiosk/input", content=b'{"text": "hi"}', headers={**json_type, "Sec-Fetch-Site": site}
        )
        assert theirs.status_code == 403
