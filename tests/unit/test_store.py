"""The kiosk store: schema, WAL, masking on write, hand-offs, tickets, settings, bad files, threads."""

from __future__ import annotations

import random
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from kiosk.dialogue.decision import Decision
from kiosk.storage import Store, StoreError
from statedb import SCHEMA_VERSION

TABLES = {"meta", "sessions", "turns", "handoffs", "tickets", "settings"}
CARD = "4111111111111111"
PHONE = "13812345678"


def decision(reply: str = "I can help with that.") -> Decision:
    return Decision(reply=reply, lang="en", intent="card_lost", stage="model", confidence=0.9, action="answer")


def query(path: Path, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run ``sql`` on a separate connection to ``path``."""
    with closing(sqlite3.connect(path)) as db:
        return list(db.execute(sql, args).fetchall())


def all_cells(path: Path) -> list[str]:
    """Every value of every row of every table, as text."""
    cells: list[str] = []
    for (table,) in query(path, "SELECT name FROM sqlite_master WHERE type = 'table'"):
        for row in query(path, f'SELECT * FROM "{table}"'):  # noqa: S608 - table names from sqlite_master
            cells.extend(str(value) for value in row)
    return cells


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "var" / "kiosk.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    opened = Store(db_path)
    yield opened
    opened.close()


def test_schema_is_created(store: Store, db_path: Path) -> None:
    tables = {name for (name,) in query(db_path, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables >= TABLES
    assert query(db_path, "SELECT value FROM meta WHERE key = 'schema_version'") == [(str(SCHEMA_VERSION),)]


def test_reopening_keeps_one_schema_version_row(db_path: Path) -> None:
    Store(db_path).close()
    Store(db_path).close()
    assert query(db_path, "SELECT COUNT(*) FROM meta WHERE key = 'schema_version'") == [(1,)]


def test_wal_mode_is_on(store: Store, db_path: Path) -> None:
    assert query(db_path, "PRAGMA journal_mode") == [("wal",)]


def test_record_turn_stores_masked_text(store: Store) -> None:
    turn_id = store.record_turn(
        "s1",
        "speech",
        f"My card {CARD[:4]} {CARD[4:8]} {CARD[8:12]} {CARD[12:]} is lost, call {PHONE}",
        decision(reply=f"I will block card {CARD} for {PHONE}."),
        latency_ms=12.34567,
    )
    [turn] = store.turns("s1")
    assert turn["id"] == turn_id
    assert turn["text"] == "My card [card ****1111] is lost, call [phone ****5678]"
    assert turn["reply"] == "I will block card [card ****1111] for [phone ****5678]."
    assert (turn["source"], turn["lang"], turn["intent"]) == ("speech", "en", "card_lost")
    assert (turn["stage"], turn["action"], turn["confidence"]) == ("model", "answer", 0.9)
    assert turn["latency_ms"] == 12.346


def test_raw_card_and_phone_never_reach_the_database(store: Store, db_path: Path) -> None:
    store.record_turn("s1", "touch", f"卡号{CARD}丢了，电话{PHONE}", decision(reply=f"卡 {CARD}"), 5.0)
    store.record_turn("s2", "speech", f"card {CARD[:8]}-{CARD[8:]} phone 138-1234-5678", decision(), 5.0)
    store.add_handoff("s1", "handoff", "requested", "zh", f"客户卡号{CARD}丢失，电话{PHONE}")
    cells = all_cells(db_path)
    assert any("[card ****1111]" in cell for cell in cells)
    for cell in cells:
        compact = cell.replace(" ", "").replace("-", "")
        assert CARD not in compact
        assert PHONE not in compact
    store.close()
    for file in db_path.parent.iterdir():
        data = file.read_bytes()
        assert CARD.encode() not in data, file.name
        assert PHONE.encode() not in data, file.name


def test_add_handoff_masks_the_summary(store: Store) -> None:
    handoff_id = store.add_handoff("s9", "risk", "fraud_pattern", "zh", f"客户要转账到卡号{CARD}，电话{PHONE}")
    [row] = store.handoffs()
    assert row.id == handoff_id
    assert (row.session_id, row.kind, row.reason, row.lang) == ("s9", "risk", "fraud_pattern", "zh")
    assert row.summary == "客户要转账到卡号[card ****1111]，电话[phone ****5678]"
    assert row.status == "waiting"
    assert store.handoffs(status=None) == [row]
    assert store.handoffs(status="done") == []


def test_handoffs_are_listed_oldest_first(store: Store) -> None:
    first = store.add_handoff("s1", "handoff", "requested", "en", "first")
    second = store.add_handoff("s2", "handoff", "repeated_misses", "zh", "second")
    assert [h.id for h in store.handoffs()] == [first, second]
    assert [h.summary for h in store.handoffs()] == ["first", "second"]


def test_ticket_numbers_increase_per_service_and_persist(db_path: Path) -> None:
    store = Store(db_path)
    assert store.issue_ticket("cash", "A") == "A001"
    assert store.issue_ticket("cash", "A") == "A002"
    assert store.issue_ticket("wealth", "B") == "B001"
    store.close()
    reopened = Store(db_path)
    try:
        assert reopened.issue_ticket("cash", "A") == "A003"
        assert reopened.issue_ticket("wealth", "B") == "B002"
    finally:
        reopened.close()


@pytest.mark.parametrize(
    "value",
    [
        pytest.param({"zh": "您好", "en": "Hello"}, id="dict-with-chinese"),
        pytest.param([1, 2.5, "three", None, True], id="list"),
        pytest.param(42, id="int"),
        pytest.param(False, id="bool"),
        pytest.param("plain text", id="str"),
    ],
)
def test_settings_round_trip(store: Store, value: Any) -> None:
    store.set_setting("k", value, by="admin")
    assert store.get_setting("k") == value


def test_settings_record_who_changed_them(store: Store, db_path: Path) -> None:
    assert store.get_setting("volume", default=7) == 7
    store.set_setting("volume", 3, by="admin")
    assert query(db_path, "SELECT value, updated_by FROM settings WHERE key = 'volume'") == [("3", "admin")]
    store.set_setting("volume", 5, by="manager")
    assert store.get_setting("volume", default=7) == 5
    assert query(db_path, "SELECT value, updated_by FROM settings WHERE key = 'volume'") == [("5", "manager")]


def test_newer_schema_version_is_refused(db_path: Path) -> None:
    Store(db_path).close()
    with closing(sqlite3.connect(db_path)) as db, db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="newer"):
        Store(db_path)


def test_non_database_file_is_refused(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(random.Random(0).randbytes(8192))
    with pytest.raises(StoreError, match="cannot open"):
        Store(db_path)


def test_concurrent_record_turn(store: Store, db_path: Path) -> None:
    threads_n, turns_n = 4, 50
    ids: list[int] = []
    errors: list[BaseException] = []
    ids_lock = threading.Lock()
    start = threading.Barrier(threads_n)

    def worker(n: int) -> None:
        try:
            start.wait()
            for i in range(turns_n):
                turn_id = store.record_turn(f"session-{n}", "touch", f"turn {i} card {CARD}", decision(), 1.0)
                with ids_lock:
                    ids.append(turn_id)
        except BaseException as err:  # noqa: BLE001 - reported by the assertion below
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(set(ids)) == threads_n * turns_n
    assert query(db_path, "SELECT COUNT(*) FROM turns") == [(threads_n * turns_n,)]
    assert query(db_path, "SELECT COUNT(*) FROM sessions") == [(threads_n,)]
    assert len(store.turns(limit=1000)) == threads_n * turns_n
    assert len(store.turns("session-2")) == turns_n
