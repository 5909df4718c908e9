"""kiosk.db has one schema owner: whichever program opens it first creates every table; a newer one is refused."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from bundles.history import record_event, sync_history
from kiosk.admin.accounts import AdminDB
from kiosk.store import Store, StoreError
from statedb import SCHEMA_VERSION, TABLES, SchemaError


def _open_store(path: Path) -> None:
    Store(path).close()


def _open_admin(path: Path) -> None:
    AdminDB(path).close()


def _open_agent(path: Path) -> None:
    record_event(path, "check")


def _tables(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")} - {"sqlite_sequence"}
    finally:
        conn.close()


def _version(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0])
    finally:
        conn.close()


OPENERS = [_open_store, _open_admin, _open_agent]
IDS = ["store", "admin page", "sync agent"]


@pytest.mark.parametrize("open_first", OPENERS, ids=IDS)
def test_whoever_opens_kiosk_db_first_creates_every_table_and_the_version(
    tmp_path: Path, open_first: Callable[[Path], None]
) -> None:
    path = tmp_path / "kiosk.db"
    open_first(path)
    expected = {line.split()[5] for line in TABLES.splitlines() if line.startswith("CREATE TABLE")}
    assert {"sessions", "turns", "admin_users", "audit_log", "sync_events", "meta"} <= expected
    assert _tables(path) == expected
    assert _version(path) == str(SCHEMA_VERSION)
    for other in OPENERS:  # the others open it as it is
        other(path)
    assert _tables(path) == expected


def test_a_newer_kiosk_db_is_refused_by_every_writer_and_left_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    _open_store(path)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE meta SET value = ? WHERE key='schema_version'", (str(SCHEMA_VERSION + 1),))
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        Store(path)
    with pytest.raises(SchemaError, match="newer"):
        AdminDB(path)
    with pytest.raises(SchemaError, match="newer"):
        sync_history(path)
    record_event(path, "check")  # the agent logs it and goes on: the history never stops an update
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT COUNT(*) FROM sync_events").fetchone() == (0,)
    finally:
        conn.close()
    assert _version(path) == str(SCHEMA_VERSION + 1)
