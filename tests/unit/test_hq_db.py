"""HQ's database: schema version, enrolment rules, items stored once, labels masked and judged."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.envelope import Envelope, ReplayError, ReplayWindow, UnknownKioskError, public_key_text
from sync.errors import HqError
from sync.hq.db import HqDB
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
def db(tmp_path: Path) -> HqDB:
    hq = HqDB(tmp_path / "hq.db")
    hq.enrol("k1", public_key_text(Ed25519PrivateKey.generate().public_key()))
    return hq


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


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    HqDB(tmp_path / "hq.db").close()
    with closing(sqlite3.connect(tmp_path / "hq.db")) as conn, conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(HqError, match="schema 99"):
        HqDB(tmp_path / "hq.db")
