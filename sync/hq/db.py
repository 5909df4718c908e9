"""HQ's own database (``<home>/hq.db``): enrolled kiosks, labels and daily counts from them.

One schema with a version in ``meta``; a newer file is refused, not misread.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from kiosk.masking import mask_pii
from kiosk.sqlite_base import LockedSqlite
from sync.envelope import KIOSK_ID, Envelope, ReplayWindow, UnknownKioskError, load_public_key
from sync.errors import HqError
from sync.messages import CountsItem, IntakeBatch, IntakeReceipt, LabelItem

SCHEMA_VERSION = 1
LabelStatus = Literal["new", "accepted", "rejected"]
LABEL_STATUSES: tuple[LabelStatus, ...] = ("new", "accepted", "rejected")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS enrolments (
    kiosk_id TEXT PRIMARY KEY,
    public_key TEXT NOT NULL,
    enrolled_at TEXT NOT NULL,
    revoked_at TEXT,
    last_counter INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS intake_items (
    kiosk_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (kiosk_id, item_id)
);
CREATE TABLE IF NOT EXISTS labels (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kiosk_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    text TEXT NOT NULL,
    lang TEXT NOT NULL,
    intent TEXT NOT NULL,
    policy_version TEXT NOT NULL,
    model_version TEXT NOT NULL,
    labelled_at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'new',
    judged_by TEXT,
    judged_at TEXT,
    UNIQUE (kiosk_id, item_id)
);
CREATE TABLE IF NOT EXISTS daily_counts (
    kiosk_id TEXT NOT NULL,
    day TEXT NOT NULL,
    lang TEXT NOT NULL,
    intent TEXT NOT NULL,
    turns INTEGER NOT NULL,
    decided INTEGER NOT NULL,
    clarified INTEGER NOT NULL,
    handed_off INTEGER NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (kiosk_id, day, lang, intent)
);
"""


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class Enrolment:
    """An enrolled kiosk."""

    kiosk_id: str
    public_key: str
    enrolled_at: str
    revoked_at: str | None
    last_counter: int


def hq_db_path(home: Path) -> Path:
    """HQ's database, next to its repository."""
    return home / "hq.db"


class HqDB(LockedSqlite):
    """Thread-safe access to ``hq.db``.

    Raises:
        HqError: the file is of a newer schema.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._connect(path)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=10000")
        self._db.executescript(_SCHEMA)
        row = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is not None and int(row[0]) > SCHEMA_VERSION:
            self._db.close()
            raise HqError(f"{path} has schema {row[0]}; this HQ reads up to {SCHEMA_VERSION}")
        if row is None:
            with self._tx() as db:
                db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._db.execute(sql, args).fetchall()]

    # -- enrolment --------------------------------------------------------------------------

    def enrol(self, kiosk_id: str, public_key: str) -> Enrolment:
        """Enrol a kiosk's public key (again after a revocation, e.g. a replaced machine).

        Raises:
            HqError: a bad id or key, or the kiosk is enrolled and not revoked.
        """
        if not KIOSK_ID.fullmatch(kiosk_id):
            raise HqError("kiosk id: 1-128 letters, digits, '_', '.', '-'")
        try:
            load_public_key(public_key)
        except ValueError as err:
            raise HqError(f"public key: {err}") from err
        with self._tx() as db:
            row = db.execute("SELECT revoked_at FROM enrolments WHERE kiosk_id = ?", (kiosk_id,)).fetchone()
            if row is not None and row[0] is None:
                raise HqError(f"kiosk {kiosk_id!r} is already enrolled; revoke it first to replace its key")
            db.execute(
                "INSERT INTO enrolments (kiosk_id, public_key, enrolled_at) VALUES (?, ?, ?)"
                " ON CONFLICT(kiosk_id) DO UPDATE SET public_key = excluded.public_key,"
                " enrolled_at = excluded.enrolled_at, revoked_at = NULL",
                (kiosk_id, public_key.strip(), _now_iso()),
            )
        found = self.enrolment(kiosk_id)
        if found is None:  # just written in the transaction above
            raise HqError(f"kiosk {kiosk_id!r} vanished")
        return found

    def revoke(self, kiosk_id: str) -> None:
        """Refuse every further message of a kiosk.

        Raises:
            HqError: the kiosk is not enrolled (or already revoked).
        """
        with self._tx() as db:
            cur = db.execute(
                "UPDATE enrolments SET revoked_at = ? WHERE kiosk_id = ? AND revoked_at IS NULL", (_now_iso(), kiosk_id)
            )
            if cur.rowcount == 0:
                raise HqError(f"kiosk {kiosk_id!r} is not enrolled (or already revoked)")

    def enrolment(self, kiosk_id: str) -> Enrolment | None:
        """A kiosk's enrolment, revoked or not."""
        rows = self._rows("SELECT * FROM enrolments WHERE kiosk_id = ?", (kiosk_id,))
        return Enrolment(**rows[0]) if rows else None

    def enrolments(self) -> list[Enrolment]:
        """Every enrolment."""
        return [Enrolment(**r) for r in self._rows("SELECT * FROM enrolments ORDER BY kiosk_id")]

    def accept(
        self, envelope: Envelope, now: float, window: ReplayWindow, batch: IntakeBatch | None = None
    ) -> IntakeReceipt:
        """Admit a verified envelope: fresh and newer than the last; store ``batch`` in the same transaction.

        The signature is checked by the caller; here the counter moves only with the items stored.

        Raises:
            UnknownKioskError: not enrolled or revoked.
            StaleError, ReplayError: outside the window or not a newer counter.
        """
        stored: list[str] = []
        duplicates: list[str] = []
        with self._tx() as db:
            row = db.execute(
                "SELECT last_counter, revoked_at FROM enrolments WHERE kiosk_id = ?", (envelope.kiosk_id,)
            ).fetchone()
            if row is None or row[1] is not None:
                raise UnknownKioskError(f"kiosk {envelope.kiosk_id!r} is not enrolled or was revoked")
            window.check(envelope, int(row[0]), now)
            db.execute(
                "UPDATE enrolments SET last_counter = ? WHERE kiosk_id = ?", (envelope.counter, envelope.kiosk_id)
            )
            for item in batch.items if batch is not None else ():
                received = _now_iso()
                cur = db.execute(
                    "INSERT OR IGNORE INTO intake_items VALUES (?, ?, ?, ?)",
                    (envelope.kiosk_id, item.item_id, item.kind, received),
                )
                if cur.rowcount == 0:
                    duplicates.append(item.item_id)
                    continue
                stored.append(item.item_id)
                if isinstance(item, LabelItem):
                    _store_label(db, envelope.kiosk_id, item, received)
                else:
                    _store_counts(db, envelope.kiosk_id, item, received)
        return IntakeReceipt(stored=tuple(stored), duplicates=tuple(duplicates))

    # -- labels and counts ------------------------------------------------------------------

    def labels(self, status: str | None = None) -> list[dict[str, Any]]:
        """Labels from the fleet, oldest first, optionally of one status."""
        if status is None:
            return self._rows("SELECT * FROM labels ORDER BY id")
        return self._rows("SELECT * FROM labels WHERE status = ? ORDER BY id", (status,))

    def judge(self, label_id: int, status: LabelStatus, by: str) -> dict[str, Any]:
        """Accept or reject a label (it can be judged again).

        Raises:
            HqError: no such label, or an unknown status.
        """
        if status not in LABEL_STATUSES:
            raise HqError(f"status must be one of {', '.join(LABEL_STATUSES)}")
        with self._tx() as db:
            cur = db.execute(
                "UPDATE labels SET status = ?, judged_by = ?, judged_at = ? WHERE id = ?",
                (status, by, _now_iso(), label_id),
            )
            if cur.rowcount == 0:
                raise HqError(f"no label {label_id}")
        return self._rows("SELECT * FROM labels WHERE id = ?", (label_id,))[0]

    def daily_counts(self, kiosk_id: str | None = None) -> list[dict[str, Any]]:
        """Daily counts from the fleet."""
        if kiosk_id is None:
            return self._rows("SELECT * FROM daily_counts ORDER BY day, kiosk_id, lang, intent")
        return self._rows("SELECT * FROM daily_counts WHERE kiosk_id = ? ORDER BY day, lang, intent", (kiosk_id,))


def _store_label(db: sqlite3.Connection, kiosk_id: str, item: LabelItem, received: str) -> None:
    db.execute(
        "INSERT OR IGNORE INTO labels (kiosk_id, item_id, text, lang, intent, policy_version, model_version,"
        " labelled_at, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            kiosk_id,
            item.item_id,
            mask_pii(item.text),  # defence in depth: the kiosk masked it already
            item.lang,
            item.intent,
            item.policy_version,
            item.model_version,
            item.labelled_at,
            received,
        ),
    )


def _store_counts(db: sqlite3.Connection, kiosk_id: str, item: CountsItem, received: str) -> None:
    for r in item.rows:
        db.execute(
            "INSERT OR REPLACE INTO daily_counts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (kiosk_id, item.day, r.lang, r.intent, r.turns, r.decided, r.clarified, r.handed_off, received),
        )
