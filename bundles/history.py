"""The local sync history in ``<state>/kiosk.db`` (table ``sync_events``, schema owned by :mod:`statedb`)."""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from statedb import SchemaError, ensure_schema

_LOG = logging.getLogger(__name__)

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
    try:
        ensure_schema(conn, str(db_path))
    except BaseException:
        conn.close()
        raise
    return conn


def record_event(
    db_path: Path, event: str, *, name: str = "", version: str = "", ok: bool = True, detail: str = ""
) -> None:
    """Append an event to the history (``event`` is one of :data:`EVENTS`).

    A ``kiosk.db`` of a newer schema is left alone (logged): the history never stops an update.
    """
    try:
        conn = _connect(db_path)
    except SchemaError as err:
        _LOG.warning("sync event not recorded: %s", err)
        return
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
