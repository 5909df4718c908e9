"""The kiosk screen in a real Chromium against `kiosk run`: it gets its device cookie on loopback and serves a
customer; a page from another origin, open in the same browser, cannot act as the customer (issue 16)."""

from __future__ import annotations

import http.server
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kiosk.config import DEFAULT_POLICY_DIR, Settings
from tests.e2e.browser import ARGS, CHROMIUM, free_port
from tests.integration.runtime_helpers import BUSY_MACHINE_TOML, device_headers

KIOSK = str(Path(sys.executable).parent / "kiosk")
EVIL_PAGE = """<!doctype html><html><body>
<form id="f" method="post" enctype="text/plain" action="{target}/api/kiosk/input">
<input name='{{"text": "请将资金转入安全账户", "x": "' value='"}}'></form>
<script>
window.tries = Promise.allSettled([
  fetch("{target}/api/kiosk/input", {{method: "POST", mode: "no-cors", credentials: "include",
    headers: {{"Content-Type": "text/plain"}}, body: JSON.stringify({{text: "请将资金转入安全账户"}})}}),
  fetch("{target}/api/kiosk/input", {{method: "POST", credentials: "include",
    headers: {{"Content-Type": "application/json"}}, body: JSON.stringify({{text: "请将资金转入安全账户"}})}}),
  fetch("{target}/api/kiosk/state", {{credentials: "include"}}).then((r) => r.text()),
]).then((all) => all.map((r) => r.status + ":" + String(r.value || r.reason).slice(0, 200)));
</script></body></html>"""


@pytest.fixture(scope="module")
def kiosk(tmp_path_factory: pytest.TempPathFactory, nlu_bundle: Path) -> Iterator[tuple[str, Path]]:
    from kiosk.assembly import Health, provision

    root = tmp_path_factory.mktemp("kiosk-e2e")
    state = root / "state"
    provision(Settings(state_dir=state, seed_dirs=(DEFAULT_POLICY_DIR, nlu_bundle)), Health())
    config = root / "runtime.toml"
    config.write_text(
        "speak = false\nwidth = 270\nheight = 480\nfps = 5.0\n[devices]\ncamera = 'none'\n" + BUSY_MACHINE_TOML
    )
    port = free_port()
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}
    proc = subprocess.Popen(
        [KIOSK, "run", "--port", str(port), "--state-dir", str(state), "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{base}/api/kiosk/state", headers=device_headers(state), timeout=2).status_code == 200:
                    break
            except (httpx.TransportError, FileNotFoundError):
                pass
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "kiosk run did not start"
            time.sleep(0.2)
        yield base, state
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def evil(tmp_path_factory: pytest.TempPathFactory, kiosk: tuple[str, Path]) -> Iterator[str]:
    """A page on another origin (another port, reached as ``localhost``) that tries to act as the customer."""
    folder = tmp_path_factory.mktemp("evil")
    (folder / "index.html").write_text(EVIL_PAGE.format(target=kiosk[0]), encoding="utf-8")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}"
    finally:
        server.shutdown()


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


def turns(kiosk: tuple[str, Path]) -> dict[str, Any]:
    base, state = kiosk
    data: dict[str, Any] = httpx.get(f"{base}/api/kiosk/state", headers=device_headers(state), timeout=10).json()
    return data


def test_the_kiosk_screen_serves_and_a_cross_origin_page_cannot(
    kiosk: tuple[str, Path], evil: str, browser: object
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(30_000)
    base, _ = kiosk
    page.goto(f"{base}/kiosk")  # the kiosk's own browser, on loopback: it is handed the device cookie
    cookie = next(c for c in context.cookies() if c["name"] == "kiosk_device")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    page.fill("#text", "I need a queue ticket for foreign exchange, my card is 4111 1111 1111 1111")
    page.click("#say button[type=submit]")
    expect(page.locator("#log")).to_contain_text("queue_ticket")
    expect(page.locator("#log")).to_contain_text("[card ****1111]")
    expect(page.locator("#log")).not_to_contain_text("4111 1111 1111 1111")
    expect(page.locator("#avatar")).to_have_js_property("complete", True)  # the MJPEG stream loads with the cookie
    assert page.evaluate("document.getElementById('avatar').naturalWidth") > 0
    before = turns(kiosk)["turn_count"]

    attacker = context.new_page()  # same browser, same cookie jar: a page the kiosk browser was lured to
    attacker.goto(evil)
    results = attacker.evaluate("window.tries")
    assert results[0].startswith("fulfilled")  # no-cors: an opaque answer...
    assert results[1].startswith("rejected")  # a JSON POST needs a preflight the kiosk does not grant
    assert results[2].startswith("rejected")  # state is not readable cross-origin
    attacker.evaluate("document.getElementById('f').submit()")  # a plain form POST (text/plain)
    attacker.wait_for_load_state()
    time.sleep(1.0)
    after = turns(kiosk)
    assert after["turn_count"] == before  # ...and nothing reached the customer's session
    assert not any("安全账户" in t["heard"] for t in after["turns"])
    context.close()


def test_an_id_card_fills_the_account_opening_form_on_the_kiosk_page(
    kiosk: tuple[str, Path], browser: object, tmp_path: Path
) -> None:
    """Account opening with a generated ID card: the form appears on the page, the customer confirms.

    ``KIOSK_OCR_SCREENSHOTS=docs/ocr`` saves the page with the filled form for the README.
    """
    import random

    from playwright.sync_api import Browser, expect

    from edge_models.build.id_cards import camera_view, random_person
    from kiosk.idcard import mask_id_number

    assert isinstance(browser, Browser)
    rng = random.Random(41)
    person = random_person(rng)
    card = tmp_path / "card.png"
    camera_view(person, None, rng).save(card)
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{kiosk[0]}/kiosk")
    page.fill("#text", "我想开户")
    page.click("#say button[type=submit]")
    page.click("#buttons button:has-text('本人')")
    expect(page.locator("#buttons")).to_contain_text("扫描身份证")
    page.set_input_files("#idcard-image", str(card))
    page.click("#idcard button[type=submit]")
    form = page.locator("#id-form")
    expect(form).to_be_visible()
    expect(form.locator("tr[data-field=name] td")).to_have_text(person.name)
    expect(form.locator("tr[data-field=address] td")).to_have_text(person.address)
    expect(form.locator("tr[data-field=id_number] td")).to_have_text(mask_id_number(person.id_number))
    if shots := os.environ.get("KIOSK_OCR_SCREENSHOTS"):
        page.screenshot(path=str(Path(shots) / "kiosk-page-form.png"))
    page.click("#buttons button:has-text('确认无误')")
    expect(page.locator("#log")).to_contain_text("handoff for staff")
    expect(page.locator("#log")).not_to_contain_text(person.id_number)
    context.close()
