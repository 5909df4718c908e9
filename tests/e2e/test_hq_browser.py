"""The HQ console in a real headless Chromium (Debian's, driven by Playwright) against `kiosk hq serve`.

An operator signs in, sees the fleet, the rollout and the KPIs with the
fairness table, and accepts a label. Screenshots go to a temporary folder, or
to the folder named by KIOSK_HQ_SCREENSHOTS (``docs/hq/console`` refreshes the
README's pictures).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sync.hq.db import HqDB
from tests.e2e.browser import ARGS, CHROMIUM, free_port, wait_up
from tests.integration.hq_console_helpers import PASSWORD, SeededHq, publish_demo, seed, set_last_seen

KIOSK = str(Path(sys.executable).parent / "kiosk")


@pytest.fixture(scope="module")
def hq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, SeededHq]]:
    """A seeded HQ (SQLite store) with one published rollout, served by ``kiosk hq serve`` on a free port."""
    tmp = tmp_path_factory.mktemp("hq-e2e")
    seeded = seed(tmp, f"sqlite:///{tmp / 'store' / 'hq.db'}")
    publish_demo(seeded.home, tmp, "2.0", 25)
    db = HqDB(seeded.store)
    try:
        db.record_report("sh-1", branch="sh01", versions={"nlu": "2.0", "demo": "2.0"}, healthy=True,
                         last_error="", rejected={})  # fmt: skip
    finally:
        db.close()
    set_last_seen(seeded.store, "bj-1", (datetime.now(UTC) - timedelta(hours=2)).isoformat(timespec="seconds"))
    port = free_port()
    proc = subprocess.Popen(
        [KIOSK, "hq", "serve", str(seeded.home), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_up(f"{base}/login", proc, "kiosk hq serve")
        yield base, seeded
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wanted = os.environ.get("KIOSK_HQ_SCREENSHOTS")
    folder = Path(wanted) if wanted else tmp_path_factory.mktemp("hq-shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_operator_works_through_the_hq_console(hq: tuple[str, SeededHq], shots: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, seeded = hq
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: scripts/setup.sh installs Debian's chromium")
    expect.set_options(timeout=60_000)  # waits for what the page shows, however busy the machine
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.set_default_timeout(30_000)
            page.goto(f"{base}/kpis")
            expect(page).to_have_url(f"{base}/login")
            page.fill("input[name=username]", "ops")
            page.fill("input[name=password]", "not the password")
            page.click("button")
            expect(page.locator(".error")).to_contain_text("wrong user name or password")
            page.fill("input[name=username]", "ops")
            page.fill("input[name=password]", PASSWORD)
            page.click("button")

            expect(page).to_have_url(f"{base}/fleet")
            expect(page.locator("#n-kiosks")).to_have_text("3")
            expect(page.locator("#n-offline")).to_have_text("1")
            expect(page.locator("#fleet tr[data-kiosk=bj-1] td.state")).to_contain_text("offline")
            expect(page.locator("#fleet tr[data-kiosk=sh-2] td.health")).to_have_text("unhealthy")
            expect(page.locator("#fleet")).to_contain_text("<script>alert(1)</script>")  # shown as text, not run
            page.screenshot(path=shots / "fleet.png", full_page=True)

            page.click("nav a[href='/rollout']")
            row = page.locator("#rollout tr[data-target='demo-2.0']")
            expect(row).to_contain_text("25 %")
            expect(row.locator("td").last).to_have_text("1")  # sh-1 runs it
            page.screenshot(path=shots / "rollout.png", full_page=True)

            page.click("nav a[href='/labels']")
            first = page.locator("#labels tr[data-label='1']")
            expect(first).to_contain_text("my card [card ****3445] was eaten")
            expect(page.locator("body")).not_to_contain_text("6222020200112233445")
            page.screenshot(path=shots / "labels.png", full_page=True)
            first.locator("button.accept").click()
            expect(page.locator("#labels tr[data-label='1']")).to_have_count(0)
            expect(page.locator("#labels tr[data-label='2']")).to_have_count(1)
            page.click("nav.tabs a[href='/labels?status=accepted']")
            expect(page.locator("#labels tr[data-label='1'] td.status")).to_contain_text("accepted (ops)")

            page.click("nav a[href='/kpis']")
            page.fill("input[name=since]", "2026-11-01")
            page.fill("input[name=until]", "2026-12-31")
            page.click("form.days button")
            expect(page.locator("#fair-lang tr[data-group=zh] td.decided")).to_have_text("65.7 %")
            expect(page.locator("#fair-lang tr[data-group=en] td.decided")).to_have_text("50.0 %")
            expect(page.locator("#fair-mode tr[data-group='elderly mode'] td.decided")).to_have_text("60.0 %")
            expect(page.locator("#gap-lang")).to_have_text("+15.7 pp")
            expect(page.locator("#kpi-branch tr[data-group=bj02] td.risk")).to_have_text("not reported")
            expect(page.locator("#kpi-branch tr[data-group=sh01] td.risk")).to_have_text("1 (4.0 %)")
            page.screenshot(path=shots / "kpis.png", full_page=True)
        finally:
            browser.close()
    db = HqDB(seeded.store)
    try:
        assert [(r["id"], r["status"], r["judged_by"]) for r in db.labels("accepted")] == [(1, "accepted", "ops")]
    finally:
        db.close()
