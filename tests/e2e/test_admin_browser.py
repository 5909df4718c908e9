"""The admin page in a real headless Chromium (Debian's, driven by Playwright) against `kiosk run`.

Screenshots of every page go to a temporary folder, or to the folder named by
KIOSK_ADMIN_SCREENSHOTS (``docs/admin`` refreshes the README's pictures).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pypdfium2 as pdfium
import pytest

from kiosk.admin.accounts import AdminDB
from kiosk.config import DEFAULT_POLICY_DIR, Settings
from tests.e2e.browser import ARGS, CHROMIUM, free_port, wait_up
from tests.integration.runtime_helpers import device_headers

PASSWORD = "e2e password 1"  # noqa: S105 - a test account
KIOSK = str(Path(sys.executable).parent / "kiosk")
STATES: dict[str, Path] = {}  # a running kiosk's state directory by its address (its device token is there)
CHAT = [
    {"session": "walk-in-1", "text": "我的卡丢了，卡号 6222 0212 3456 7890 128"},
    {"session": "walk-in-2", "text": "I want to talk to a real person"},
    {"session": "walk-in-3", "text": "有人打电话说我涉嫌洗钱，让我把钱转到安全账户"},
    {"session": "walk-in-4", "text": "hmm maybe something about money thing"},
    {"session": "walk-in-5", "text": "今天美元汇率多少"},
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, nlu_bundle: Path) -> Iterator[str]:
    from kiosk.assembly import Health, provision

    state = tmp_path_factory.mktemp("e2e") / "state"
    provision(Settings(state_dir=state, seed_dirs=(DEFAULT_POLICY_DIR, nlu_bundle)), Health())
    db = AdminDB(state / "kiosk.db")
    db.create_user("supervisor", PASSWORD, "supervisor")
    db.close()
    chat = subprocess.run(
        [KIOSK, "chat", "--state-dir", str(state)],
        input="\n".join(json.dumps(c) for c in CHAT),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert len(chat.stdout.splitlines()) == len(CHAT)
    port = free_port()
    proc = subprocess.Popen(
        [KIOSK, "run", "--port", str(port), "--state-dir", str(state)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    STATES[base] = state
    try:
        wait_up(f"{base}/healthz", proc, "kiosk run", tries=300)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wanted = os.environ.get("KIOSK_ADMIN_SCREENSHOTS")
    folder = Path(wanted) if wanted else tmp_path_factory.mktemp("shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import expect, sync_playwright

    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: scripts/setup.sh installs Debian's chromium")
    # Assertions wait for what the page shows, however busy the machine (OCR, ASR and models on 2 shared cores):
    # a generous ceiling, reached only when something is really wrong.
    expect.set_options(timeout=90_000)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def test_staff_work_through_the_admin_page(server: str, browser: object, shots: Path) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))  # script errors (refused forms answer 4xx on purpose)

    page.goto(f"{server}/admin/handoffs")
    expect(page).to_have_url(f"{server}/admin/login")
    page.screenshot(path=shots / "login.png")
    page.fill("input[name=username]", "supervisor")
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    expect(page.locator(".error")).to_contain_text("wrong user name or password")
    page.fill("input[name=username]", "supervisor")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")

    health = httpx.get(f"{server}/healthz", timeout=10).json()
    expect(page.locator(".status h1")).to_contain_text({"ok": "UP", "degraded": "DEGRADED"}[health["status"]])
    for problem in health["problems"]:
        expect(page.locator(".problems")).to_contain_text(problem)
    expect(page.locator("#badge")).to_have_text("2")
    page.screenshot(path=shots / "dashboard.png", full_page=True)
    # The dashboard refreshes devices and components by itself (no reload).
    expect(page.locator("#health-refreshed")).to_contain_text("Updated")
    expect(page.locator("#devices tr[data-device=printer]")).to_contain_text("simulated")
    expect(page.locator("#components tr[data-component=idle]")).to_contain_text("running")

    page.click("nav a[href='/admin/handoffs']")
    risk = page.locator("article.handoff.kind-risk")
    expect(risk).to_have_count(1)
    expect(page.locator("body")).not_to_contain_text("6222 0212")
    page.screenshot(path=shots / "handoffs.png", full_page=True)
    plain = page.locator("article.handoff.kind-handoff").first
    plain.locator("button.accept").click()
    expect(page.locator("article.handoff.kind-handoff.accepted")).to_have_count(1)
    risk = page.locator("article.handoff.kind-risk")
    risk.locator(".resolve button").click()  # the note is required: the browser refuses the empty form
    expect(risk).to_have_count(1)
    risk.locator("input[name=note]").fill("Customer kept the money; police hotline given")
    risk.locator(".resolve button").click()
    expect(page.locator("article.handoff.kind-risk")).to_have_count(0)
    expect(page.locator("#badge")).to_have_text("0")

    page.click("nav a[href='/admin/review']")
    row = page.locator("table.review tr[data-turn]").first
    expect(row).to_contain_text("money thing")
    page.screenshot(path=shots / "review.png", full_page=True)
    row.locator("select[name=intent]").select_option("wealth_products")
    row.locator("button").click()
    expect(page.locator("body")).to_contain_text("Recently labelled")
    expect(page.locator("table").last).to_contain_text("wealth_products")

    page.click("nav a[href='/admin/settings']")
    form = page.locator("#set-model_threshold")
    form.locator("input[name=value]").fill("0.99")
    form.locator("button").click()
    expect(page.locator(".error")).to_contain_text("between 0.5 and 0.95")
    form = page.locator("#set-model_threshold")
    form.locator("input[name=value]").fill("0.8")
    form.locator("button").click()
    expect(page.locator("#set-model_threshold input[name=value]")).to_have_value("0.8")
    page.screenshot(path=shots / "settings.png", full_page=True)

    page.click("nav a[href='/admin/audit']")
    audit = page.locator("table.audit")
    expect(audit).to_contain_text("model_threshold")
    expect(audit).to_contain_text('"to": 0.8')
    expect(audit).to_contain_text("handoff_resolved")
    page.screenshot(path=shots / "audit.png", full_page=True)
    # The month's compliance report: the supervisor downloads the PDF from the audit page.
    page.fill("form.report input[name=month]", datetime.now(UTC).strftime("%Y-%m"))
    with page.expect_download() as download:
        page.click("form.report button")
    pdf = pdfium.PdfDocument(Path(download.value.path()).read_bytes())
    report = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    flat = "".join(report.split())
    for wanted in ("合规月报", "policehotlinegiven", "model_threshold"):  # title, the staff note, the settings change
        assert wanted in flat, report[:500]

    for name in ("conversations", "metrics", "updates", "live"):
        page.click(f"nav a[href='/admin/{name}']")
        expect(page.locator("h1")).to_be_visible()
        if name == "live":
            expect(page.locator("#live-state")).to_contain_text("live")
        page.screenshot(path=shots / f"{name}.png", full_page=True)
    expect(page.locator("body")).not_to_contain_text("6222 0212")
    assert not errors, errors
    page.close()


def test_live_view_shows_a_new_turn_without_reloading(server: str, browser: object) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    page = browser.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{server}/admin/login")
    page.fill("input[name=username]", "supervisor")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{server}/admin/live")
    expect(page.locator("#live-state")).to_contain_text("live")
    response = httpx.post(
        f"{server}/api/turn",
        json={"session": "live-1", "text": "where is the nearest ATM"},
        headers=device_headers(STATES[server]),
        timeout=30,
    )
    assert response.status_code == 200
    expect(page.locator("#live tbody")).to_contain_text("where is the nearest ATM")
    page.close()
    assert shutil.which("chromium") or Path(CHROMIUM).is_file()
