"""A seeded HQ for the console's tests: repository, accounts, kiosks with reports, labels and daily counts."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from kiosk.cli import app as kiosk_cli
from sync.bundle import write_manifest
from sync.envelope import Envelope, ReplayWindow, public_key_text
from sync.hq import HqRepository
from sync.hq.db import HqDB
from sync.messages import CountsItem, DailyCount, IntakeBatch, LabelItem, OutcomeCounts

PASSWORD = "console-password-1"  # noqa: S105 - a test account
CARD = "6222020200112233445"
DAY = "2026-12-01"
runner = CliRunner()


@dataclass
class SeededHq:
    home: Path
    store: str
    counters: dict[str, int]


def cli(*args: str, stdin: str | None = None) -> dict[str, Any]:
    result = runner.invoke(kiosk_cli, list(args), input=stdin)
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def counts(
    lang: str, intent: str, outcome: tuple[int, int, int, int, int], elderly: OutcomeCounts | None
) -> DailyCount:
    turns, decided, clarified, handed_off, risk = outcome
    return DailyCount(
        lang=lang,
        intent=intent,
        turns=turns,
        decided=decided,
        clarified=clarified,
        handed_off=handed_off,
        risk_alerts=risk,
        elderly=elderly,
    )


def send(db: HqDB, hq: SeededHq, kiosk_id: str, *items: LabelItem | CountsItem) -> None:
    hq.counters[kiosk_id] = hq.counters.get(kiosk_id, 0) + 1
    envelope = Envelope(kiosk_id, hq.counters[kiosk_id], int(time.time()), b"\0" * 64)
    db.accept(envelope, time.time(), ReplayWindow(), IntakeBatch(items=items) if items else None)


def seed(tmp_path: Path, store: str) -> SeededHq:
    """Kiosks sh-1 and sh-2 (branch sh01), bj-1 (bj02, an older kiosk without risk or elderly counts).

    Day DAY, intent card_lost unless said:
      sh-1 zh: 10 turns, 8 decided, 1 clarified, 1 handed off (1 risk alert); elderly 4 (2 decided, 1, 1, 1)
      sh-2 en: 10 turns, 5 decided, 3 clarified, 2 handed off (0 risk); elderly 0
      bj-1 zh: 20 turns, 10 decided, 6 clarified, 4 handed off; no risk, no elderly split
      sh-1 zh fx_rate: 5 turns, 5 decided; elderly 1 (1 decided)
    """
    home = HqRepository.init(tmp_path / "hq").home
    settings = json.loads((home / "hq.json").read_text())
    (home / "hq.json").write_text(json.dumps(settings | {"db_url": store}))
    cli("hq", "add-user", str(home), "ops", "--password-stdin", stdin=PASSWORD + "\n")
    cli("hq", "add-user", str(home), "watcher", "--role", "viewer", "--password-stdin", stdin=PASSWORD + "\n")
    hq = SeededHq(home, store, {})
    db = HqDB(store)
    try:
        for kiosk_id in ("sh-1", "sh-2", "bj-1"):
            db.enrol(kiosk_id, public_key_text(Ed25519PrivateKey.generate().public_key()))
        db.record_report(
            "sh-1", branch="sh01", versions={"nlu": "2.0", "policy": "1.1"}, healthy=True, last_error="", rejected={}
        )
        db.record_report(
            "sh-2",
            branch="sh01",
            versions={"nlu": "1.0", "policy": "1.1"},
            healthy=False,
            last_error="<script>alert(1)</script> nlu 2.0 failed golden cases",
            rejected={"nlu": ["2.0"]},
        )
        db.record_report("bj-1", branch="bj02", versions={"nlu": "1.0"}, healthy=True, last_error="", rejected={})
        e4 = OutcomeCounts(turns=4, decided=2, clarified=1, handed_off=1, risk_alerts=1)
        none = OutcomeCounts(turns=0, decided=0, clarified=0, handed_off=0)
        send(db, hq, "sh-1", CountsItem(item_id=f"counts:{DAY}", day=DAY, rows=(
            counts("zh", "card_lost", (10, 8, 1, 1, 1), e4),
            counts("zh", "fx_rate", (5, 5, 0, 0, 0), OutcomeCounts(turns=1, decided=1, clarified=0, handed_off=0)),
        )))  # fmt: skip
        send(db, hq, "sh-2", CountsItem(item_id=f"counts:{DAY}", day=DAY, rows=(
            counts("en", "card_lost", (10, 5, 3, 2, 0), none),
        )))  # fmt: skip
        old = DailyCount(lang="zh", intent="card_lost", turns=20, decided=10, clarified=6, handed_off=4)
        send(db, hq, "bj-1", CountsItem(item_id=f"counts:{DAY}", day=DAY, rows=(old,)))
        send(db, hq, "bj-1", CountsItem(item_id="counts:2025-01-01", day="2025-01-01", rows=(old,)))  # out of range
        send(
            db,
            hq,
            "sh-2",
            *(
                LabelItem(
                    item_id=f"label-{n}",
                    text=f"my card {CARD} was eaten" if n == 1 else "digital rmb wallet",
                    lang="en",
                    intent="card_lost" if n == 1 else "e_cny_wallet",
                    model_version="1.0",
                    policy_version="1.1",
                    labelled_at=f"2026-12-01T10:0{n}:00+00:00",
                )
                for n in (1, 2)
            ),
        )
    finally:
        db.close()
    return hq


def set_last_seen(store: str, kiosk_id: str, at: str) -> None:
    """Age a kiosk's last report (HQ stamps reports with the wall clock)."""
    engine = create_engine(store)
    try:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE fleet_reports SET last_seen = :at WHERE kiosk_id = :k"), {"at": at, "k": kiosk_id}
            )
    finally:
        engine.dispose()


def publish_demo(home: Path, tmp_path: Path, version: str, percent: int, channel: str = "stable") -> None:
    """Publish a small bundle ``demo`` at ``percent`` of ``channel``."""
    directory = tmp_path / f"demo-{version}-{channel}"
    directory.mkdir()
    (directory / "about.txt").write_text(f"demo {version}\n")
    write_manifest(directory, name="demo", kind="embedder", version=version)
    repo = HqRepository(home)
    repo.add(directory, channel=channel, percent=percent)
    repo.publish()


def sign_in(client: Any, username: str = "ops") -> str:
    """Sign ``client`` in; the session's form token (from the fleet page)."""
    page = client.get("/login")
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match is not None
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf": match.group(1)}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    labels = client.get("/labels")
    found = re.search(r'name="csrf" value="([^"]+)"', labels.text)
    return found.group(1) if found else ""


def rows_of(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    return list(response.json())
