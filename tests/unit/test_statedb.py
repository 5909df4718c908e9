"""kiosk.db has one schema owner: whichever program opens it first creates every table; a newer one is refused."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from bundles.history import record_event, sync_history
from kiosk.admin.accounts import AdminDB
from kiosk.storage import Store, StoreError
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


_VERSION_1_ADMIN_USERS = """
INSERT INTO meta VALUES ('schema_version', '1');
CREATE TABLE admin_users (
    username TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    locked_until REAL
);
CREATE TABLE admin_sessions (
    digest TEXT PRIMARY KEY,
    username TEXT NOT NULL REFERENCES admin_users(username),
    csrf TEXT NOT NULL,
    created REAL NOT NULL,
    last_seen REAL NOT NULL
);
"""


def _admin_user_columns(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {str(r[1]) for r in conn.execute("PRAGMA table_info(admin_users)")}
    finally:
        conn.close()


def _version_1_db(path: Path) -> None:
    """A kiosk.db as schema version 1 left it: one staff account, with the lock-out columns."""
    db = AdminDB(path)
    db.create_user("mei", "long enough pw", "supervisor")  # the password hash of today's code
    db.close()
    conn = sqlite3.connect(path)
    with conn:
        row = conn.execute("SELECT username, role, password_hash, created_at FROM admin_users").fetchone()
        conn.execute("DROP TABLE admin_sessions")
        conn.execute("DROP TABLE admin_users")
        conn.execute("DELETE FROM meta")
    conn.executescript(_VERSION_1_ADMIN_USERS)
    with conn:
        conn.execute("INSERT INTO admin_users VALUES (?, ?, ?, ?, 3, 1.5)", row)
    conn.close()
    assert {"failures", "locked_until"} <= _admin_user_columns(path)
    assert _version(path) == "1"


def test_a_new_kiosk_db_has_no_lockout_columns_in_admin_users(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    _open_store(path)
    assert _admin_user_columns(path) == {"username", "role", "password_hash", "created_at"}
    assert SCHEMA_VERSION == 2


@pytest.mark.parametrize("open_first", OPENERS, ids=IDS)
def test_a_version_1_kiosk_db_upgrades_and_keeps_its_accounts(
    tmp_path: Path, open_first: Callable[[Path], None]
) -> None:
    path = tmp_path / "kiosk.db"
    _version_1_db(path)
    open_first(path)
    assert _version(path) == str(SCHEMA_VERSION)
    assert _admin_user_columns(path) == {"username", "role", "password_hash", "created_at"}
    for other in OPENERS:  # opening it again changes nothing
        other(path)
    db = AdminDB(path)
    try:
        user = db.authenticate("mei", "long enough pw", now=1000.0)
        assert (user.username, user.role) == ("mei", "supervisor")
        token, _csrf = db.open_session(user, now=1000.0)
        assert db.session(token, now=1001.0) is not None
    finally:
        db.close()


def test_a_failed_upgrade_leaves_the_version_1_db_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    _version_1_db(path)
    conn = sqlite3.connect(path)
    with conn:  # an index on a dead column makes DROP COLUMN fail
        conn.execute("CREATE INDEX admin_users_locked ON admin_users(locked_until)")
    conn.close()
    with pytest.raises(SchemaError, match="cannot upgrade"):
        AdminDB(path)
    assert _version(path) == "1"
    assert {"failures", "locked_until"} <= _admin_user_columns(path)
