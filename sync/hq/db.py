"""HQ's store: enrolled kiosks, labels and daily counts from them, the fleet's latest reports.

One schema (:mod:`sync.hq.schema`) on two engines, chosen by a URL:
``sqlite:///HOME/hq.db`` (the embedded default, one box) or
``postgresql://…`` (production, psycopg 3). A newer store is refused, not misread.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Connection, Engine, Table, create_engine, event, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from kiosk.privacy import mask_pii
from kiosk.storage import tighten_state_file
from sync.envelope import KIOSK_ID, Envelope, ReplayWindow, UnknownKioskError, load_public_key
from sync.errors import HqError
from sync.hq.schema import (
    SCHEMA_VERSION,
    V3_COUNT_COLUMNS,
    NewerSchemaError,
    daily_counts,
    enrolments,
    fleet_reports,
    intake_items,
    migrate,
)
from sync.hq.schema import labels as labels_table
from sync.messages import CountsItem, IntakeBatch, IntakeReceipt, LabelItem

__all__ = ["SCHEMA_VERSION", "Enrolment", "FleetReport", "HqDB", "HqStoreError", "hq_db_path", "hq_db_url"]

LabelStatus = Literal["new", "accepted", "rejected"]
LABEL_STATUSES: tuple[LabelStatus, ...] = ("new", "accepted", "rejected")
DB_URL_ENV = "KIOSK_HQ_DB_URL"


class HqStoreError(HqError):
    """The database cannot be reached or failed mid-transaction (nothing of it was kept)."""


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


@dataclass(frozen=True, slots=True)
class FleetReport:
    """A kiosk's latest status: versions, health, failed activations."""

    kiosk_id: str
    branch: str
    versions: Mapping[str, str]
    healthy: bool
    last_error: str
    rejected: Mapping[str, list[str]]


def hq_db_path(home: Path) -> Path:
    """HQ's embedded database, next to its repository."""
    return home / "hq.db"


def hq_db_url(home: Path, configured: str = "") -> str:
    """The store's URL: ``configured`` (flag, env or hq.json) or the embedded ``sqlite:///HOME/hq.db``."""
    return configured or f"sqlite:///{hq_db_path(home).resolve()}"


def _engine(url: URL) -> Engine:
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise HqError("an HQ store on SQLite needs a file: sqlite:////path/to/hq.db")
        path = Path(url.database)
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 10, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
            dbapi_conn.execute("PRAGMA journal_mode=WAL")
            dbapi_conn.execute("PRAGMA busy_timeout=10000")
            tighten_state_file(path)

        @event.listens_for(engine, "begin")
        def on_begin(conn: Connection) -> None:
            # Writers take the lock up front: a read-then-write never fails half-way on a busy file.
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("hq_write") else "BEGIN")

        return engine
    if url.get_backend_name() == "postgresql":
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        return create_engine(url, pool_size=8, max_overflow=8, pool_pre_ping=True, pool_recycle=3600)
    raise HqError(f"HQ stores on sqlite or postgresql, not {url.get_backend_name()!r}")


class HqDB:
    """Thread-safe access to HQ's store (a pool of connections, short transactions).

    Args:
        store: A database URL, or the path of an SQLite file.

    Raises:
        HqError: a bad URL or a store of a newer schema.
        HqStoreError: the database cannot be reached.
    """

    def __init__(self, store: Path | str) -> None:
        try:
            url = make_url(f"sqlite:///{store}" if isinstance(store, Path) else store)
        except ArgumentError as err:
            raise HqError(f"not a database URL: {err}") from err
        self.url = url.render_as_string(hide_password=True)
        try:
            self._engine = _engine(url)
        except (NoSuchModuleError, ImportError) as err:
            raise HqError(f"{self.url}: no driver ({err}); install the 'hq' extra") from err
        self._pg = self._engine.dialect.name == "postgresql"
        self._writer = self._engine.execution_options(hq_write=True)
        try:
            migrate(self._tx)
        except NewerSchemaError as err:
            self._engine.dispose()
            raise HqError(f"{self.url} has {err}") from err
        except HqError:
            self._engine.dispose()
            raise

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        """A write transaction, committed at the end, rolled back on any error."""
        try:
            with self._writer.begin() as conn:
                yield conn
        except DBAPIError as err:
            raise HqStoreError(f"{self.url}: {err.orig or err}") from err

    def _rows(self, query: Any, args: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        try:
            with self._engine.connect() as conn:
                return [dict(r._mapping) for r in conn.execute(query, args or {})]
        except DBAPIError as err:
            raise HqStoreError(f"{self.url}: {err.orig or err}") from err

    def read(self, query: Any) -> list[dict[str, Any]]:
        """The rows of a query as dicts (the console's aggregates, rollout status).

        Raises:
            HqStoreError: the database cannot be reached.
        """
        return self._rows(query)

    def _insert(self, table: Table) -> Any:
        return pg_insert(table) if self._pg else sqlite_insert(table)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction for HQ modules beside this one (rollouts); rolled back on any error.

        Raises:
            HqStoreError: the database failed (nothing of the transaction was kept).
        """
        with self._tx() as conn:
            yield conn

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
        stmt = self._insert(enrolments).values(kiosk_id=kiosk_id, public_key=public_key.strip(), enrolled_at=_now_iso())
        stmt = stmt.on_conflict_do_update(
            index_elements=[enrolments.c.kiosk_id],
            set_={"public_key": stmt.excluded.public_key, "enrolled_at": stmt.excluded.enrolled_at, "revoked_at": None},
            where=enrolments.c.revoked_at.is_not(None),  # one statement: two enrolments cannot both win
        )
        with self._tx() as conn:
            if conn.execute(stmt.returning(enrolments.c.kiosk_id)).first() is None:
                raise HqError(f"kiosk {kiosk_id!r} is already enrolled; revoke it first to replace its key")
        found = self.enrolment(kiosk_id)
        if found is None:  # just written in the transaction above
            raise HqError(f"kiosk {kiosk_id!r} vanished")
        return found

    def revoke(self, kiosk_id: str) -> None:
        """Refuse every further message of a kiosk.

        Raises:
            HqError: the kiosk is not enrolled (or already revoked).
        """
        stmt = (
            enrolments.update()
            .where(enrolments.c.kiosk_id == kiosk_id, enrolments.c.revoked_at.is_(None))
            .values(revoked_at=_now_iso())
        )
        with self._tx() as conn:
            if conn.execute(stmt).rowcount == 0:
                raise HqError(f"kiosk {kiosk_id!r} is not enrolled (or already revoked)")

    def enrolment(self, kiosk_id: str) -> Enrolment | None:
        """A kiosk's enrolment, revoked or not."""
        rows = self._rows(select(enrolments).where(enrolments.c.kiosk_id == kiosk_id))
        return Enrolment(**rows[0]) if rows else None

    def enrolments(self) -> list[Enrolment]:
        """Every enrolment."""
        return [Enrolment(**r) for r in self._rows(select(enrolments).order_by(enrolments.c.kiosk_id))]

    def accept(
        self,
        envelope: Envelope,
        now: float,
        window: ReplayWindow,
        batch: IntakeBatch | None = None,
        report: FleetReport | None = None,
    ) -> IntakeReceipt:
        """Admit a verified envelope: fresh and newer than the last; store ``batch`` or ``report`` with it.

        The signature is checked by the caller; here the counter moves only with the items stored.
        The kiosk's row is locked (``FOR UPDATE`` on PostgreSQL, the write lock on SQLite) from the
        counter check to the commit, so two concurrent replays of one message cannot both pass.

        Raises:
            UnknownKioskError: not enrolled or revoked.
            StaleError, ReplayError: outside the window or not a newer counter.
        """
        stored: list[str] = []
        duplicates: list[str] = []
        with self._tx() as conn:
            row = conn.execute(
                select(enrolments.c.last_counter, enrolments.c.revoked_at)
                .where(enrolments.c.kiosk_id == envelope.kiosk_id)
                .with_for_update()
            ).one_or_none()
            if row is None or row[1] is not None:
                raise UnknownKioskError(f"kiosk {envelope.kiosk_id!r} is not enrolled or was revoked")
            window.check(envelope, int(row[0]), now)
            conn.execute(
                enrolments.update()
                .where(enrolments.c.kiosk_id == envelope.kiosk_id)
                .values(last_counter=envelope.counter)
            )
            if report is not None:
                self._store_report(conn, report)
            for item in batch.items if batch is not None else ():
                received = _now_iso()
                stmt = self._insert(intake_items).values(
                    kiosk_id=envelope.kiosk_id, item_id=item.item_id, kind=item.kind, received_at=received
                )
                inserted = conn.execute(stmt.on_conflict_do_nothing().returning(intake_items.c.item_id)).first()
                if inserted is None:
                    duplicates.append(item.item_id)
                    continue
                stored.append(item.item_id)
                if isinstance(item, LabelItem):
                    self._store_label(conn, envelope.kiosk_id, item, received)
                else:
                    self._store_counts(conn, envelope.kiosk_id, item, received)
        return IntakeReceipt(stored=tuple(stored), duplicates=tuple(duplicates))

    def _store_label(self, conn: Connection, kiosk_id: str, item: LabelItem, received: str) -> None:
        stmt = self._insert(labels_table).values(
            kiosk_id=kiosk_id,
            item_id=item.item_id,
            text=mask_pii(item.text),  # defence in depth: the kiosk masked it already
            lang=item.lang,
            intent=item.intent,
            policy_version=item.policy_version,
            model_version=item.model_version,
            labelled_at=item.labelled_at,
            received_at=received,
        )
        conn.execute(stmt.on_conflict_do_nothing())

    def _store_counts(self, conn: Connection, kiosk_id: str, item: CountsItem, received: str) -> None:
        for r in item.rows:
            stmt = self._insert(daily_counts).values(
                kiosk_id=kiosk_id,
                day=item.day,
                lang=r.lang,
                intent=r.intent,
                turns=r.turns,
                decided=r.decided,
                clarified=r.clarified,
                handed_off=r.handed_off,
                received_at=received,
                risk_alerts=r.risk_alerts,
                elderly_turns=r.elderly.turns if r.elderly is not None else None,
                elderly_decided=r.elderly.decided if r.elderly is not None else None,
                elderly_clarified=r.elderly.clarified if r.elderly is not None else None,
                elderly_handed_off=r.elderly.handed_off if r.elderly is not None else None,
                elderly_risk_alerts=r.elderly.risk_alerts if r.elderly is not None else None,
            )
            keys = ("turns", "decided", "clarified", "handed_off", "received_at", *V3_COUNT_COLUMNS)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[daily_counts.c[k] for k in ("kiosk_id", "day", "lang", "intent")],
                    set_={k: stmt.excluded[k] for k in keys},
                )
            )

    # -- labels and counts ------------------------------------------------------------------

    def labels(self, status: str | None = None) -> list[dict[str, Any]]:
        """Labels from the fleet, oldest first, optionally of one status."""
        query = select(labels_table).order_by(labels_table.c.id)
        if status is not None:
            query = query.where(labels_table.c.status == status)
        return self._rows(query)

    def judge(self, label_id: int, status: LabelStatus, by: str) -> dict[str, Any]:
        """Accept or reject a label (it can be judged again).

        Raises:
            HqError: no such label, or an unknown status.
        """
        if status not in LABEL_STATUSES:
            raise HqError(f"status must be one of {', '.join(LABEL_STATUSES)}")
        stmt = (
            labels_table.update()
            .where(labels_table.c.id == label_id)
            .values(status=status, judged_by=by, judged_at=_now_iso())
        )
        with self._tx() as conn:
            if conn.execute(stmt).rowcount == 0:
                raise HqError(f"no label {label_id}")
        return self._rows(select(labels_table).where(labels_table.c.id == label_id))[0]

    def daily_counts(self, kiosk_id: str | None = None) -> list[dict[str, Any]]:
        """Daily counts from the fleet."""
        c = daily_counts.c
        if kiosk_id is None:
            return self._rows(select(daily_counts).order_by(c.day, c.kiosk_id, c.lang, c.intent))
        return self._rows(select(daily_counts).where(c.kiosk_id == kiosk_id).order_by(c.day, c.lang, c.intent))

    # -- the fleet's status reports ---------------------------------------------------------

    def record_report(
        self,
        kiosk_id: str,
        *,
        branch: str,
        versions: Mapping[str, str],
        healthy: bool,
        last_error: str,
        rejected: Mapping[str, list[str]],
    ) -> None:
        """Store a kiosk's latest status report (replacing the one before), outside any envelope."""
        with self._tx() as conn:
            self._store_report(conn, FleetReport(kiosk_id, branch, versions, healthy, last_error, rejected))

    def _store_report(self, conn: Connection, report: FleetReport) -> None:
        values = {
            "branch": report.branch,
            "versions": json.dumps(dict(report.versions), ensure_ascii=False, sort_keys=True),
            "healthy": int(report.healthy),
            "last_error": report.last_error,
            "rejected": json.dumps(dict(report.rejected), ensure_ascii=False, sort_keys=True),
            "last_seen": _now_iso(),
        }
        stmt = self._insert(fleet_reports).values(kiosk_id=report.kiosk_id, **values)
        conn.execute(stmt.on_conflict_do_update(index_elements=[fleet_reports.c.kiosk_id], set_=values))

    def fleet(self) -> list[dict[str, Any]]:
        """Every kiosk that reported: versions, last seen, health, failed activations."""
        rows = self._rows(select(fleet_reports).order_by(fleet_reports.c.branch, fleet_reports.c.kiosk_id))
        for row in rows:
            row["versions"] = json.loads(row["versions"])
            row["rejected"] = json.loads(row["rejected"])
            row["healthy"] = bool(row["healthy"])
        return rows
