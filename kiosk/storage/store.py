"""The kiosk's SQLite store (WAL): sessions, turns, hand-offs, tickets, settings.

Customer text is masked (:func:`kiosk.privacy.masking.mask_pii`) before it is
written; nothing unmasked reaches the database.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kiosk.dialogue import Decision, Reason, Refusal
from kiosk.privacy import mask_pii
from kiosk.storage.sqlite import LockedSqlite
from statedb import SchemaError, ensure_schema

# The tables and their version are owned by :mod:`statedb` (one schema for every writer of kiosk.db).

HANDOFF_STATUSES = ("waiting", "accepted", "resolved")
_NEXT_STATUS = {"accepted": ("waiting",), "resolved": ("waiting", "accepted")}
_TURN_FILTERS = {
    "since": "at >= ?",
    "until": "at < ?",
    "intent": "intent = ?",
    "stage": "stage = ?",
    "action": "action = ?",
    "lang": "lang = ?",
    "session_id": "session_id = ?",
    "after_id": "id > ?",
}


class StoreError(Exception):
    """The database cannot be opened or is of a newer schema."""


@dataclass(frozen=True, slots=True)
class HandoffRow:
    """A hand-off or risk alert waiting for staff."""

    id: int
    session_id: str
    at: str
    kind: str
    reason: str
    lang: str
    summary: str
    status: str
    summary_source: str | None = None
    """Who wrote ``summary``: ``llm``, ``extractive``, ``pending`` (extractive, the LLM is writing); None: old rows."""


_HANDOFF_COLS = "id, session_id, at, kind, reason, lang, summary, status, summary_source"


def masked_reason(reason: Reason | None) -> str | None:
    """The reason as stored: JSON, its sentence and evidence labels masked (they may quote the customer)."""
    if reason is None:
        return None
    evidence = tuple(e.model_copy(update={"label": mask_pii(e.label)}) for e in reason.evidence)
    return reason.model_copy(update={"text": mask_pii(reason.text), "evidence": evidence}).model_dump_json()


def _now(at: datetime | None = None) -> str:
    """``at`` (the caller's clock; a naive time is local) or now, in UTC, as stored."""
    return (datetime.now(UTC) if at is None else at.astimezone(UTC)).isoformat(timespec="milliseconds")


class HandoffStateError(StoreError):
    """A hand-off is missing or cannot move to the requested status."""


class Store(LockedSqlite):
    """Thread-safe access to ``kiosk.db``.

    Args:
        path: Database file; created with its schema when missing.

    Raises:
        StoreError: the file is not a database or has a newer schema.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        try:
            self._connect(path)
        except sqlite3.Error as err:
            raise StoreError(f"{path}: cannot open the kiosk database: {err}") from err
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            ensure_schema(self._db, str(path))
        except SchemaError as err:
            self._db.close()
            raise StoreError(str(err)) from err
        except sqlite3.DatabaseError as err:
            self._db.close()
            raise StoreError(f"{path}: cannot open the kiosk database: {err}") from err

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            self._db.row_factory = sqlite3.Row
            try:
                return list(self._db.execute(sql, args).fetchall())
            finally:
                self._db.row_factory = None

    # -- sessions and turns -------------------------------------------------

    def start_session(self, session_id: str, lang: str | None = None, *, at: datetime | None = None) -> None:
        """Record a new session (no-op when it exists); ``at`` defaults to now."""
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO sessions (id, started_at, lang) VALUES (?, ?, ?)", (session_id, _now(at), lang)
            )

    def end_session(self, session_id: str, outcome: str, *, at: datetime | None = None) -> None:
        """Mark a session ended with an outcome (resolved, handoff, abandoned …); ``at`` defaults to now."""
        with self._tx() as db:
            db.execute(
                "UPDATE sessions SET ended_at = ?, outcome = ? WHERE id = ? AND ended_at IS NULL",
                (_now(at), outcome, session_id),
            )

    def set_session_elderly(self, session_id: str, on: bool) -> None:
        """Record whether the customer of this session chose the elderly-friendly mode."""
        self.start_session(session_id)
        with self._tx() as db:
            db.execute("UPDATE sessions SET elderly = ? WHERE id = ?", (int(on), session_id))

    def end_open_sessions(self, outcome: str = "interrupted") -> int:
        """End every session still open (left so by a kiosk that was killed); returns how many."""
        with self._tx() as db:
            cur = db.execute("UPDATE sessions SET ended_at = ?, outcome = ? WHERE ended_at IS NULL", (_now(), outcome))
            return int(cur.rowcount)

    def record_turn(
        self,
        session_id: str,
        source: str,
        text: str,
        decision: Decision,
        latency_ms: float,
        *,
        at: datetime | None = None,
    ) -> int:
        """Store one turn with masked text; returns the turn id (``at`` defaults to now).

        ``reply_source`` records who wrote the reply's words: ``faq`` (a passage
        as written), ``faq+llm`` (composed by the LLM from it), NULL (policy wording).
        """
        self.start_session(session_id, decision.lang, at=at)
        written = None if decision.source is None else "faq+llm" if decision.source.composed else "faq"
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO turns (session_id, at, source, text, lang, intent, stage, confidence, action, reply,"
                " latency_ms, reply_source, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    session_id,
                    _now(at),
                    source,
                    mask_pii(text),
                    decision.lang,
                    decision.intent,
                    decision.stage,
                    decision.confidence,
                    decision.action,
                    mask_pii(decision.reply),
                    round(latency_ms, 3),
                    written,
                    masked_reason(decision.reason),
                ),
            )
            db.execute("UPDATE sessions SET lang = ? WHERE id = ?", (decision.lang, session_id))
            return int(cur.lastrowid or 0)

    def turns(self, session_id: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        """Recent turns (newest last), optionally of one session."""
        if session_id is None:
            rows = self._query("SELECT * FROM turns ORDER BY id DESC LIMIT ?", (limit,))
        else:
            rows = self._query("SELECT * FROM turns WHERE session_id = ? ORDER BY id DESC LIMIT ?", (session_id, limit))
        return [dict(r) for r in reversed(rows)]

    def rate_session(self, session_id: str, rating: str, source: str) -> bool:
        """Record the customer's rating of a session (the last one counts); False when there is no such session.

        ``rating`` is ``good``, ``bad`` or ``skipped``; ``source`` how it was given (``tap``, ``text``,
        ``voice``, ``walked_away``).
        """
        with self._tx() as db:
            if db.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
                return False
            db.execute(
                "INSERT INTO ratings (session_id, at, rating, source) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(session_id) DO UPDATE SET at = excluded.at, rating = excluded.rating,"
                " source = excluded.source",
                (session_id, _now(), rating, source),
            )
        return True

    # -- hand-offs ------------------------------------------------------------

    def add_handoff(
        self, session_id: str, kind: str, reason: str, lang: str, summary: str, *, summary_source: str | None = None
    ) -> int:
        """Queue a hand-off or risk alert for staff (summary masked)."""
        self.start_session(session_id, lang)
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO handoffs (session_id, at, kind, reason, lang, summary, summary_source)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (session_id, _now(), kind, reason, lang, mask_pii(summary), summary_source),
            )
            return int(cur.lastrowid or 0)

    def set_handoff_summary(self, handoff_id: int, summary: str, source: str) -> bool:
        """Replace a hand-off's summary (masked) and say who wrote it; False when there is no such hand-off."""
        with self._tx() as db:
            cur = db.execute(
                "UPDATE handoffs SET summary = ?, summary_source = ? WHERE id = ?",
                (mask_pii(summary), source, handoff_id),
            )
            return cur.rowcount > 0

    def handoffs(self, status: str | None = "waiting") -> list[HandoffRow]:
        """Hand-offs, oldest first, optionally filtered by status."""
        cols = _HANDOFF_COLS
        if status is None:
            rows = self._query(f"SELECT {cols} FROM handoffs ORDER BY id")  # noqa: S608 - constant column list
        else:
            rows = self._query(f"SELECT {cols} FROM handoffs WHERE status = ? ORDER BY id", (status,))  # noqa: S608
        return [HandoffRow(**dict(r)) for r in rows]

    def handoff(self, handoff_id: int) -> HandoffRow | None:
        """One hand-off by id, or None."""
        rows = self._query(f"SELECT {_HANDOFF_COLS} FROM handoffs WHERE id = ?", (handoff_id,))  # noqa: S608
        return HandoffRow(**dict(rows[0])) if rows else None

    def set_handoff_status(self, handoff_id: int, status: str, by: str, note: str | None = None) -> HandoffRow:
        """Accept or resolve a hand-off, recording who did it and the (masked) note.

        Raises:
            HandoffStateError: no such hand-off, an unknown status, or a move the
                current status does not allow (e.g. resolving a resolved one).
        """
        allowed_from = _NEXT_STATUS.get(status)
        if allowed_from is None:
            raise HandoffStateError(f"unknown hand-off status {status!r}")
        masked = mask_pii(note) if note else None
        with self._tx() as db:
            row = db.execute("SELECT status FROM handoffs WHERE id = ?", (handoff_id,)).fetchone()
            if row is None:
                raise HandoffStateError(f"hand-off {handoff_id} does not exist")
            if row[0] not in allowed_from:
                raise HandoffStateError(f"hand-off {handoff_id} is {row[0]}; it cannot become {status}")
            db.execute(
                "UPDATE handoffs SET status = ?, note = COALESCE(?, note) WHERE id = ?", (status, masked, handoff_id)
            )
            db.execute(
                "INSERT INTO handoff_events (handoff_id, at, status, by, note) VALUES (?, ?, ?, ?, ?)",
                (handoff_id, _now(), status, by, masked),
            )
        found = self.handoff(handoff_id)
        if found is None:  # pragma: no cover - deleted between the statements
            raise HandoffStateError(f"hand-off {handoff_id} does not exist")
        return found

    def handoff_events(self, handoff_id: int) -> list[dict[str, Any]]:
        """Who accepted or resolved a hand-off, oldest first."""
        rows = self._query("SELECT * FROM handoff_events WHERE handoff_id = ? ORDER BY id", (handoff_id,))
        return [dict(r) for r in rows]

    def find_turns(self, limit: int = 200, **filters: str | int | None) -> list[dict[str, Any]]:
        """Turns matching the filters, newest first.

        Filters: ``since``/``until`` (ISO times), ``intent``, ``stage``, ``action``,
        ``lang``, ``session_id``, ``after_id``; empty values are ignored.

        Raises:
            ValueError: an unknown filter name.
        """
        unknown = sorted(set(filters) - set(_TURN_FILTERS))
        if unknown:
            raise ValueError(f"unknown turn filter: {', '.join(unknown)}")
        clauses = [_TURN_FILTERS[k] for k, v in filters.items() if v not in (None, "")]
        args = tuple(v for v in filters.values() if v not in (None, ""))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._query(f"SELECT * FROM turns {where} ORDER BY id DESC LIMIT ?", (*args, limit))  # noqa: S608
        return [dict(r) for r in rows]

    # -- tickets --------------------------------------------------------------

    def issue_ticket(self, service_id: str, prefix: str) -> str:
        """Next ticket number of the day for a service, e.g. ``A007``."""
        day = datetime.now().astimezone().date().isoformat()
        with self._tx() as db:
            row = db.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM tickets WHERE day = ? AND service = ?", (day, service_id)
            ).fetchone()
            seq = int(row[0]) + 1
            number = f"{prefix}{seq:03d}"
            db.execute(
                "INSERT INTO tickets (day, service, seq, number, at) VALUES (?, ?, ?, ?, ?)",
                (day, service_id, seq, number, _now()),
            )
        return number

    def record_refusals(self, refusals: list[Refusal]) -> None:
        """Count side effects the kiosk-wide limit refused, per UTC day and kind (``/metrics``).

        The first refusal of a kind in a window also writes one audit row, so a flood of refused requests is
        counted without pushing staff's entries off the audit page.
        """
        if not refusals:
            return
        with self._tx() as db:
            for r in refusals:
                when = datetime.fromtimestamp(r.at, UTC)
                db.execute(
                    "INSERT INTO refused_effects (day, kind, n) VALUES (?, ?, 1)"
                    " ON CONFLICT(day, kind) DO UPDATE SET n = n + 1",
                    (when.date().isoformat(), r.kind),
                )
                if r.first_in_window:
                    detail = {"session": r.session_id[:64], "limit": r.limit, "window_s": r.window_s}
                    text = mask_pii(json.dumps(detail, ensure_ascii=False, sort_keys=True))
                    db.execute(
                        "INSERT INTO audit_log (at, username, action, target, detail) VALUES (?, ?, ?, ?, ?)",
                        (_now(when), "kiosk", "side_effect_limit", r.kind, text),
                    )

    def refused_effects(self) -> dict[str, int]:
        """Side effects refused by the kiosk-wide limit so far, by kind."""
        rows = self._query("SELECT kind, SUM(n) n FROM refused_effects GROUP BY kind")
        return {str(r["kind"]): int(r["n"]) for r in rows}

    # -- settings -------------------------------------------------------------

    def set_setting(self, key: str, value: Any, by: str) -> None:
        """Store a setting as JSON, with who changed it."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO settings (key, value, updated_at, updated_by) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at,"
                " updated_by = excluded.updated_by",
                (key, json.dumps(value, ensure_ascii=False), _now(), by),
            )

    def get_setting(self, key: str, default: Any = None) -> Any:
        """A stored setting, or ``default``."""
        rows = self._query("SELECT value FROM settings WHERE key = ?", (key,))
        return json.loads(rows[0]["value"]) if rows else default
