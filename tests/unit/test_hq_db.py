"""HQ's database: schema version, enrolment rules, items stored once, labels masked and judged."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import create_engine, text

from sync.envelope import Envelope, ReplayError, ReplayWindow, UnknownKioskError, public_key_text
from sync.errors import HqError
from sync.hq.db import SCHEMA_VERSION, FleetReport, HqDB
from sync.messages import IntakeBatch, LabelItem

NOW = 1_800_000_000.0


def batch(*ids: str, text: str = "card 6222020200112233445 lost") -> IntakeBatch:
    return IntakeBatch(
        items=tuple(
            LabelItem(item_id=i, text=text, lang="en", intent="card_lost", labelled_at="2026-12-05T10:00:00")
            for i in ids
        )
    )


def envelope(counter: int, kiosk_id: str = "k1") -> Envelope:
    return Envelope(kiosk_id, counter, int(NOW), b"\0" * 64)


@pytest.fixture
def db(hq_store_url: str) -> Iterator[HqDB]:
    """The store on SQLite and on PostgreSQL (each test runs on both)."""
    hq = HqDB(hq_store_url)
    hq.enrol("k1", public_key_text(Ed25519PrivateKey.generate().public_key()))
    try:
        yield hq
    finally:
        hq.close()


def test_items_are_stored_once_and_masked_again(db: HqDB) -> None:
    first = db.accept(envelope(1), NOW, ReplayWindow(), batch("a", "b"))
    again = db.accept(envelope(2), NOW, ReplayWindow(), batch("b", "c"))
    assert (first.stored, first.duplicates) == (("a", "b"), ())
    assert (again.stored, again.duplicates) == (("c",), ("b",))
    labels = db.labels()
    assert [label["item_id"] for label in labels] == ["a", "b", "c"]
    assert {label["text"] for label in labels} == {"card [card ****3445] lost"}


def test_a_refused_counter_stores_nothing(db: HqDB) -> None:
    db.accept(envelope(5), NOW, ReplayWindow())
    with pytest.raises(ReplayError):
        db.accept(envelope(5), NOW, ReplayWindow(), batch("a"))
    assert db.labels() == []
    enrolment = db.enrolment("k1")
    assert enrolment is not None
    assert enrolment.last_counter == 5


def test_revoked_and_unknown_kiosks_are_refused(db: HqDB) -> None:
    db.revoke("k1")
    with pytest.raises(UnknownKioskError):
        db.accept(envelope(1), NOW, ReplayWindow(), batch("a"))
    with pytest.raises(UnknownKioskError):
        db.accept(envelope(1, "k9"), NOW, ReplayWindow())
    with pytest.raises(HqError, match="not enrolled"):
        db.revoke("k1")


def test_enrolment_checks_id_and_key(db: HqDB) -> None:
    with pytest.raises(HqError, match="already enrolled"):
        db.enrol("k1", public_key_text(Ed25519PrivateKey.generate().public_key()))
    with pytest.raises(HqError, match="public key"):
        db.enrol("k2", "not a key")
    with pytest.raises(HqError, match="kiosk id"):
        db.enrol("k 2", public_key_text(Ed25519PrivateKey.generate().public_key()))


def test_judging_labels(db: HqDB) -> None:
    db.accept(envelope(1), NOW, ReplayWindow(), batch("a", "b"))
    ids = [label["id"] for label in db.labels()]
    assert db.judge(ids[0], "accepted", "ops")["status"] == "accepted"
    assert db.judge(ids[1], "rejected", "ops")["judged_by"] == "ops"
    assert [label["id"] for label in db.labels("accepted")] == [ids[0]]
    with pytest.raises(HqError, match="no label"):
        db.judge(999, "accepted", "ops")
    with pytest.raises(HqError, match="status"):
        db.judge(ids[0], "maybe", "ops")  # type: ignore[arg-type]


def test_a_newer_schema_is_refused(hq_store_url: str) -> None:
    HqDB(hq_store_url).close()
    engine = create_engine(hq_store_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE meta SET value = '99' WHERE key = 'schema_version'"))
    engine.dispose()
    with pytest.raises(HqError, match=f"schema 99; this HQ reads up to {SCHEMA_VERSION}"):
        HqDB(hq_store_url)


def test_a_64_bit_counter_is_kept(db: HqDB) -> None:
    db.accept(envelope(2**62), NOW, ReplayWindow())
    enrolment = db.enrolment("k1")
    assert enrolment is not None
    assert enrolment.last_counter == 2**62


def test_concurrent_replays_of_one_message_store_it_once(db: HqDB) -> None:
    """Eight threads send the same envelope at once: exactly one passes the counter check."""
    start = threading.Barrier(8)
    outcomes: list[str] = []

    def send() -> None:
        start.wait()
        try:
            receipt = db.accept(envelope(7), NOW, ReplayWindow(), batch("x"))
            outcomes.append(f"stored {len(receipt.stored)}")
        except ReplayError:
            outcomes.append("replay")

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["replay"] * 7 + ["stored 1"]
    assert [label["item_id"] for label in db.labels()] == ["x"]


def test_increasing_counters_from_threads_all_pass_in_some_order(db: HqDB) -> None:
    """Concurrent fresh messages: each either passes or is refused as older; the counter ends at the highest passed."""
    passed: list[int] = []

    def send(counter: int) -> None:
        try:
            db.accept(envelope(counter), NOW, ReplayWindow(), batch(f"i{counter}"))
            passed.append(counter)
        except ReplayError:
            pass

    threads = [threading.Thread(target=send, args=(c,)) for c in range(1, 13)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    enrolment = db.enrolment("k1")
    assert enrolment is not None
    assert passed
    assert enrolment.last_counter == max(passed)
    assert sorted(label["item_id"] for label in db.labels()) == sorted(f"i{c}" for c in passed)


def test_a_version_1_file_is_migrated_and_keeps_its_data(tmp_path: Path) -> None:
    """An hq.db written by schema 1 (no fleet table) gains fleet_reports; its enrolments stay."""
    path = tmp_path / "hq.db"
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.executescript(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
            "INSERT INTO meta VALUES ('schema_version', '1');"
            "CREATE TABLE enrolments (kiosk_id TEXT PRIMARY KEY, public_key TEXT NOT NULL, enrolled_at TEXT NOT NULL,"
            " revoked_at TEXT, last_counter INTEGER NOT NULL DEFAULT 0);"
            "INSERT INTO enrolments VALUES ('old', 'key', '2026-01-01', NULL, 41);"
        )
    db = HqDB(path)
    try:
        enrolment = db.enrolment("old")
        assert enrolment is not None
        assert enrolment.last_counter == 41
        db.record_report("old", branch="b1", versions={}, healthy=True, last_error="", rejected={})
        assert [row["branch"] for row in db.fleet()] == ["b1"]
    finally:
        db.close()
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == str(SCHEMA_VERSION)


def test_a_bad_url_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(HqError, match="not 'mysql'"):
        HqDB("mysql://u@h/db")
    with pytest.raises(HqError, match="not a database URL"):
        HqDB("not a url")


def test_an_unreachable_store_is_a_clear_error_without_its_password(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from kiosk.cli import app

    url = f"postgresql://hq:s3cret-pw@/hq?host={tmp_path / 'no-server'}"
    result = CliRunner().invoke(app, ["hq", "kiosks", str(tmp_path), "--db-url", url])
    assert result.exit_code == 1
    assert "s3cret-pw" not in result.output
    assert "hq:***@" in result.output
    env = CliRunner().invoke(app, ["hq", "kiosks", str(tmp_path)], env={"KIOSK_HQ_DB_URL": "mysql://x@y/z"})
    assert env.exit_code == 1
    assert "not 'mysql'" in env.output


def test_a_report_moves_with_its_counter(db: HqDB) -> None:
    """A report accepted with its envelope is in the fleet; a replayed one changes nothing."""
    first = FleetReport("k1", "sh01", {"nlu": "1.0"}, True, "", {})
    db.accept(envelope(3), NOW, ReplayWindow(), report=first)
    with pytest.raises(ReplayError):
        db.accept(envelope(3), NOW, ReplayWindow(), report=FleetReport("k1", "evil", {}, False, "x", {}))
    assert [(r["branch"], r["versions"], r["healthy"]) for r in db.fleet()] == [("sh01", {"nlu": "1.0"}, True)]
