"""The one owner of ``kiosk.db``'s schema: every table, the schema version, added columns.

Three programs write ``<state>/kiosk.db``: the kiosk's store (sessions, turns,
hand-offs, tickets, settings), the admin page (users, sessions, audit log,
review labels) and the sync agent (its history). Each opens it through
:func:`ensure_schema`, so whichever comes first creates every table, and each
refuses a database written by a newer schema. The version is kept in the
``meta`` table (``schema_version``).

This module imports nothing from the project, so ``kiosk``, ``bundles`` and
``sync`` can all use it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

SCHEMA_VERSION = 2
"""Version of the tables below; raise it (and add a migration to ``MIGRATIONS``) when a table changes
incompatibly."""

_STORE_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    lang TEXT,
    outcome TEXT
);
CREATE TABLE IF NOT EXISTS turns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL REFERENCES sessions(id),
    at TEXT NOT NULL,
    source TEXT NOT NULL,
    text TEXT NOT NULL,
    lang TEXT NOT NULL,
    intent TEXT NOT NULL,
    stage TEXT NOT NULL,
    confidence REAL NOT NULL,
    action TEXT NOT NULL,
    reply TEXT NOT NULL,
    latency_ms REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS turns_session ON turns(session_id);
CREATE INDEX IF NOT EXISTS turns_at ON turns(at);
CREATE TABLE IF NOT EXISTS handoffs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL REFERENCES sessions(id),
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    lang TEXT NOT NULL,
    summary TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'waiting',
    note TEXT
);
CREATE TABLE IF NOT EXISTS tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    day TEXT NOT NULL,
    service TEXT NOT NULL,
    seq INTEGER NOT NULL,
    number TEXT NOT NULL,
    at TEXT NOT NULL,
    UNIQUE(day, service, seq)
);
CREATE TABLE IF NOT EXISTS settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ratings (
    session_id TEXT PRIMARY KEY REFERENCES sessions(id),
    at TEXT NOT NULL,
    rating TEXT NOT NULL,
    source TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS refused_effects (
    day TEXT NOT NULL,
    kind TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (day, kind)
);
CREATE TABLE IF NOT EXISTS handoff_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    handoff_id INTEGER NOT NULL REFERENCES handoffs(id),
    at TEXT NOT NULL,
    status TEXT NOT NULL,
    by TEXT NOT NULL,
    note TEXT
);
"""

_ADMIN_TABLES = """
CREATE TABLE IF NOT EXISTS admin_users (
    username TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS admin_sessions (
    digest TEXT PRIMARY KEY,
    username TEXT NOT NULL REFERENCES admin_users(username),
    csrf TEXT NOT NULL,
    created REAL NOT NULL,
    last_seen REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    username TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS review_labels (
    turn_id INTEGER PRIMARY KEY REFERENCES turns(id),
    text TEXT NOT NULL,
    lang TEXT NOT NULL,
    intent TEXT NOT NULL,
    labelled_by TEXT NOT NULL,
    at TEXT NOT NULL
);
"""

_SYNC_TABLES = """
CREATE TABLE IF NOT EXISTS sync_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    event TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    version TEXT NOT NULL DEFAULT '',
    ok INTEGER NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS sync_events_at ON sync_events(at);
"""

TABLES = _STORE_TABLES + _ADMIN_TABLES + _SYNC_TABLES
"""Every table of ``kiosk.db`` (``CREATE ... IF NOT EXISTS``)."""

ADDED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("handoffs", "summary_source", "TEXT"),
    ("turns", "reply_source", "TEXT"),
    ("sessions", "elderly", "INTEGER"),  # the customer chose elderly-friendly mode (the fairness table)
    ("turns", "reason", "TEXT"),  # JSON of Decision.reason (issue 14), masked
)
"""Columns added after a table was first created: nullable, so older code reads the database unchanged and the
schema version stays."""


def _drop_admin_lockout_columns(conn: sqlite3.Connection) -> None:
    """Version 2: drop ``admin_users.failures`` and ``admin_users.locked_until``.

    Sign-in lock-outs live in memory per client and name (issue 16); version 1's columns were never used.
    """
    for column in ("failures", "locked_until"):
        if column in _columns(conn, "admin_users"):
            conn.execute(f"ALTER TABLE admin_users DROP COLUMN {column}")


MIGRATIONS: tuple[tuple[int, Callable[[sqlite3.Connection], None]], ...] = ((2, _drop_admin_lockout_columns),)
"""(version reached, step) in order; each step is idempotent and runs inside the caller's write transaction."""


class SchemaError(Exception):
    """``kiosk.db`` was written by a newer schema than this code knows, or cannot be brought up to date."""


def ensure_schema(conn: sqlite3.Connection, where: str = "kiosk.db") -> None:
    """Create missing tables and columns and check the schema version (idempotent, safe from several processes).

    Args:
        conn: An open connection to ``kiosk.db`` (autocommit).
        where: The file, for error messages.

    Raises:
        SchemaError: the database has a newer schema version, or an older one cannot be upgraded.
        sqlite3.DatabaseError: the file is not a database.
    """
    conn.executescript(TABLES)
    version = _version(conn)
    if version is not None and version > SCHEMA_VERSION:
        raise SchemaError(f"{where}: schema version {version} is newer than this kiosk ({SCHEMA_VERSION})")
    if version is None or version < SCHEMA_VERSION:
        _migrate(conn, where)
    for table, column, kind in ADDED_COLUMNS:
        if column not in _columns(conn, table):
            try:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
            except sqlite3.OperationalError:
                if column not in _columns(conn, table):  # another process added it first
                    raise
    if conn.in_transaction:  # a connection in Python's default (deferred) mode opened one for the INSERT
        conn.commit()


def _version(conn: sqlite3.Connection) -> int | None:
    row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    return None if row is None else int(row[0])


def _migrate(conn: sqlite3.Connection, where: str) -> None:
    """Bring an older (or brand-new) database to ``SCHEMA_VERSION`` in one write transaction.

    A database without a version (just created, or older than the ``meta`` table) runs every step: they are
    idempotent. Another process may have migrated it meanwhile, so the version is read again under the lock.

    Raises:
        SchemaError: a step failed; the database is left as it was.
    """
    if conn.in_transaction:
        conn.commit()
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = _version(conn)
        if version is not None and version > SCHEMA_VERSION:
            raise SchemaError(f"{where}: schema version {version} is newer than this kiosk ({SCHEMA_VERSION})")
        if version is None or version < SCHEMA_VERSION:
            for reached, step in MIGRATIONS:
                if version is None or version < reached:
                    step(conn)
            conn.execute(
                "INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (str(SCHEMA_VERSION),),
            )
    except sqlite3.Error as err:
        conn.execute("ROLLBACK")
        raise SchemaError(f"{where}: cannot upgrade the schema to version {SCHEMA_VERSION}: {err}") from err
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {str(r[1]) for r in conn.execute(f"PRAGMA table_info({table})")}
