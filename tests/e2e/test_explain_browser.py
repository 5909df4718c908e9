"""Why this answer, ratings and resolution in a real Chromium against `kiosk run` (issue 14).

A customer on the kiosk page rates the end of a conversation with one tap, another by typing 不满意;
staff see each turn's reason on the conversations and review pages, and the ratings and resolution
figures on the metrics page and in ``/metrics``. ``KIOSK_EXPLAIN_SCREENSHOTS=docs/explain`` keeps the
screenshots.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.admin.accounts import AdminDB
from kiosk.config import DEFAULT_POLICY_DIR, DEFAULT_SEED_DIR, Settings
from tests.e2e.browser import ARGS, CHROMIUM, free_port, wait_up

PASSWORD = "e2e password 2"  # noqa: S105 - a test account
KIOSK = str(Path(sys.executable).parent / "kiosk")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, nlu_bundle: Path) -> Iterator[str]:
    from kiosk.assembly import Health, provision

    state = tmp_path_factory.mktemp("e2e-explain") / "state"
    embedder = DEFAULT_SEED_DIR / "embedder"  # the MiniLM head runs on English: its nearest examples are shown
    if not (embedder / "manifest.json").is_file():
        pytest.fail(f"{embedder} is not built: run `make models`")
    provision(Settings(state_dir=state, seed_dirs=(DEFAULT_POLICY_DIR, nlu_bundle, embedder)), Health())
    db = AdminDB(state / "kiosk.db")
    db.create_user("supervisor", PASSWORD, "supervisor")
    db.close()
    config = state.parent / "runtime.toml"  # the whole kiosk: the live screen at /kiosk as well as the page at /
    config.write_text("speak = false\nwidth = 270\nheight = 480\nfps = 5.0\n[devices]\ncamera = 'none'\n")
    port = free_port()
    proc = subprocess.Popen(
        [KIOSK, "run", "--port", str(port), "--state-dir", str(state), "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "KIOSK_NO_LLM": "1", "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_up(f"{base}/healthz", proc, "kiosk run")
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: scripts/setup.sh installs Debian's chromium")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wanted = os.environ.get("KIOSK_EXPLAIN_SCREENSHOTS")
    folder = Path(wanted) if wanted else tmp_path_factory.mktemp("shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_ratings_reasons_and_resolution(server: str, browser: object, shots: Path) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))

    # Customer 1: a lost card, then goodbye; the screen asks for a rating and one tap gives it.
    page.goto(f"{server}/")
    expect(page.locator("#log .kiosk").first).to_be_visible()
    rating = page.locator("#rating")
    expect(rating).to_be_hidden()
    for text in ("我的银行卡丢了", "好的谢谢 再见"):
        page.fill("#text", text)
        page.click("#say button[type=submit]")
    expect(rating).to_be_visible()
    page.screenshot(path=shots / "rating.png", full_page=True)
    rating.locator("button[data-rating=good]").click()
    expect(rating).to_be_hidden()
    expect(rating).to_have_attribute("data-given", "good")
    expect(page.locator("#log")).to_contain_text("Thank you")

    # Customer 2 (English): an unsure question, then goodbye, then a typed rating.
    page.click("#new-session")
    expect(rating).to_be_hidden()
    for text in ("hmm maybe something about money thing", "ok thanks, goodbye"):
        page.fill("#text", text)
        page.click("#say button[type=submit]")
    expect(rating).to_be_visible()
    page.fill("#text", "bad")
    page.click("#say button[type=submit]")
    expect(rating).to_have_attribute("data-given", "bad")

    # Customers 4 and 5 (English, on the page, where opening hours do not apply): one takes a queue ticket,
    # the other is asked which service, says goodbye and leaves without one. Ticket conversion: 1 of 2.
    page.click("#new-session")
    page.fill("#text", "I need a queue ticket for foreign exchange")
    page.click("#say button[type=submit]")
    expect(page.locator("#log")).to_contain_text("C001")
    page.click("#new-session")
    page.fill("#text", "I need a queue ticket")
    page.click("#say button[type=submit]")
    expect(page.locator("#log .kiosk").last).to_contain_text("Which service")
    page.fill("#text", "ok thanks, goodbye")
    page.click("#say button[type=submit]")
    expect(rating).to_be_visible()

    # Customer 6 asks for a person: staff see what triggered the hand-off.
    page.click("#new-session")
    page.fill("#text", "请帮我叫工作人员")
    page.click("#say button[type=submit]")
    expect(page.locator("#log")).to_contain_text("human_agent")

    # Customer 3 at the live kiosk screen (tickets depend on the real opening hours, so no ticket here):
    # a lost card, goodbye, and the screen's rating buttons.
    live = context.new_page()
    live.set_default_timeout(60_000)
    live.goto(f"{server}/kiosk")
    live.fill("#text", "我的银行卡丢了")
    live.click("#say button[type=submit]")
    expect(live.locator("#log")).to_contain_text("card_lost")
    live.fill("#text", "好的谢谢 再见")
    live.click("#say button[type=submit]")
    expect(live.locator("#buttons")).to_contain_text("不满意")
    expect(live.locator("#buttons")).to_contain_text("跳过")
    live.screenshot(path=shots / "kiosk-rating.png", full_page=True)
    live.locator("#buttons button", has_text="满意").filter(has_not_text="不").click()
    expect(live.locator("#log")).to_contain_text("rating")

    # Staff: the reasons on the conversations and review pages.
    admin = context.new_page()
    admin.set_default_timeout(30_000)
    admin.goto(f"{server}/admin/login")
    admin.fill("input[name=username]", "supervisor")
    admin.fill("input[name=password]", PASSWORD)
    admin.click("button[type=submit]")
    admin.goto(f"{server}/admin/conversations?intent=card_lost")
    why = admin.locator("table.turns tr.stage-model td.why details.reason").first
    expect(why.locator("summary")).to_contain_text("intent model: card_lost")
    why.locator("summary").click()
    features = why.locator("li[data-kind=feature]")
    expect(features.first).to_be_visible()
    expect(features.first).to_contain_text("card_lost")
    admin.screenshot(path=shots / "conversations-why.png", full_page=True)
    admin.goto(f"{server}/admin/conversations?intent=human_agent")
    handoff = admin.locator("table.turns td.why details.reason").first
    handoff.locator("summary").click()
    expect(handoff.locator("li[data-kind=trigger-name]")).to_have_text("triggered by: requested")
    expect(handoff.locator("li[data-kind=safety]")).to_be_visible()
    admin.goto(f"{server}/admin/review")
    row = admin.locator("table.review tr[data-turn]", has_text="money thing").first
    expect(row.locator("td.why summary")).to_contain_text("best guess")
    row.locator("td.why summary").click()
    expect(row.locator("li[data-kind=example]").first).to_be_visible()  # the MiniLM head's nearest examples
    admin.screenshot(path=shots / "review-why.png", full_page=True)

    # The metrics page: resolution and satisfaction per intent, language and day.
    admin.goto(f"{server}/admin/metrics")
    by_intent = admin.locator("table.resolution[data-by=intent]")
    card = by_intent.locator("tr[data-group=card_lost]")
    expect(card.locator("td.sat")).to_have_text("100%")
    expect(card.locator("td.fcr")).to_have_text("100%")
    expect(card.locator("td:nth-child(2)")).to_have_text("2")  # sessions: the page's and the live screen's
    expect(card.locator("td.tickets")).to_have_text("0%")
    ticket = by_intent.locator("tr[data-group=queue_ticket]")
    expect(ticket.locator("td:nth-child(2)")).to_have_text("2")  # offered twice, taken once
    expect(ticket.locator("td.tickets")).to_have_text("50%")
    expect(admin.locator("table.resolution th", has_text="ticket conversion").first).to_be_visible()
    by_lang = admin.locator("table.resolution[data-by=lang]")
    expect(by_lang.locator("tr[data-group=en] td.sat")).to_have_text("0%")
    expect(by_lang.locator("tr[data-group=en] td:nth-child(2)")).to_have_text("3")
    expect(by_lang.locator("tr[data-group=en] td.tickets")).to_have_text("33%")
    expect(by_lang.locator("tr[data-group=zh] td.tickets")).to_have_text("0%")
    expect(admin.locator("table.resolution[data-by=day] tr[data-group]")).to_have_count(1)
    admin.locator("#resolution").screenshot(path=shots / "metrics-resolution.png")
    metrics = admin.request.get(f"{server}/metrics").text()
    assert 'kiosk_satisfaction_ratio{intent="card_lost"} 1.0000' in metrics
    assert 'kiosk_ratings_window{rating="bad"} 1' in metrics
    assert 'kiosk_ticket_conversion_ratio{intent="card_lost"} 0.0000' in metrics
    assert 'kiosk_ticket_conversion_ratio{intent="queue_ticket"} 0.5000' in metrics
    assert 'kiosk_ticket_conversion_ratio{lang="en"} 0.3333' in metrics
    assert 'kiosk_satisfaction_ratio{lang="zh"} 1.0000' in metrics
    assert 'kiosk_ratings_window{rating="good"} 2' in metrics
    assert not errors, errors
    context.close()
