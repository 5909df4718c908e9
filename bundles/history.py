"""The local sync history in ``<state>/kiosk.db`` (table ``sync_events``), for the admin page."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

_SCHEMA = """
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

EVENTS = ("check", "download", "install", "rejected", "activated", "confirmed", "rolled_back", "error")


@dataclass(frozen=True)
class SyncEvent:
    """One row of the sync history."""

    id: int
    at: str
    event: str
    name: str
    version: str
    ok: bool
    detail: str


def _connect(db_path: Path) -> sqlite3.Connection:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db_path, timeout=10)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(_SCHEMA)
    return conn


def record_event(
    db_path: Path, event: str, *, name: str = "", version: str = "", ok: bool = True, detail: str = ""
) -> None:
    """Append an event to the history (``event`` is one of :data:`EVENTS`)."""
    conn = _connect(db_path)
    try:
        with conn:
            conn.execute(
                "INSERT INTO sync_events (at, event, name, version, ok, detail) VALUES (?, ?, ?, ?, ?, ?)",
                (datetime.now(UTC).isoformat(timespec="seconds"), event, name, version, int(ok), detail[:2000]),
            )
    finally:
        conn.close()


def sync_history(db_path: Path, *, limit: int = 100) -> list[SyncEvent]:
    """The newest ``limit`` events, newest first."""
    conn = _connect(db_path)
    try:
        rows = conn.execute(
            "SELECT id, at, event, name, version, ok, detail FROM sync_events ORDER BY id DESC LIMIT ?", (limit,)
        ).fetchall()
    finally:
        conn.close()
    return [SyncEvent(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6]) for r in rows]
