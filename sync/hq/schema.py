"""HQ's one schema for SQLite and PostgreSQL (SQLAlchemy Core), and its versioned migrations.

``meta.schema_version`` says which migrations ran. Each migration runs in its
own transaction with the version bump, so a crash leaves the store at the last
whole version; on PostgreSQL an advisory lock keeps two HQ processes from
migrating at once. A store of a newer version is refused, not misread.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy import BigInteger, Column, Connection, Index, Integer, MetaData, Table, Text, inspect, select, text

SCHEMA_VERSION = 4
_MIGRATION_LOCK = 0x4B494F534B  # pg_advisory_xact_lock key ("KIOSK")

metadata = MetaData()

meta = Table("meta", metadata, Column("key", Text, primary_key=True), Column("value", Text, nullable=False))

enrolments = Table(
    "enrolments",
    metadata,
    Column("kiosk_id", Text, primary_key=True),
    Column("public_key", Text, nullable=False),
    Column("enrolled_at", Text, nullable=False),
    Column("revoked_at", Text),
    Column("last_counter", BigInteger, nullable=False, server_default="0"),  # counters are 64-bit
)

intake_items = Table(
    "intake_items",
    metadata,
    Column("kiosk_id", Text, primary_key=True),
    Column("item_id", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("received_at", Text, nullable=False),
)

labels = Table(
    "labels",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kiosk_id", Text, nullable=False),
    Column("item_id", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("lang", Text, nullable=False),
    Column("intent", Text, nullable=False),
    Column("policy_version", Text, nullable=False),
    Column("model_version", Text, nullable=False),
    Column("labelled_at", Text, nullable=False),
    Column("received_at", Text, nullable=False),
    Column("status", Text, nullable=False, server_default="new"),
    Column("judged_by", Text),
    Column("judged_at", Text),
    sqlite_autoincrement=True,
)

# Version 3: risk alerts and the elderly-mode part of the turns (NULL: the kiosk did not report them).
V3_COUNT_COLUMNS = (
    "risk_alerts",
    "elderly_turns",
    "elderly_decided",
    "elderly_clarified",
    "elderly_handed_off",
    "elderly_risk_alerts",
)

daily_counts = Table(
    "daily_counts",
    metadata,
    Column("kiosk_id", Text, primary_key=True),
    Column("day", Text, primary_key=True),
    Column("lang", Text, primary_key=True),
    Column("intent", Text, primary_key=True),
    Column("turns", Integer, nullable=False),
    Column("decided", Integer, nullable=False),
    Column("clarified", Integer, nullable=False),
    Column("handed_off", Integer, nullable=False),
    Column("received_at", Text, nullable=False),
    *(Column(name, Integer) for name in V3_COUNT_COLUMNS),
)
daily_counts_by_day = Index("ix_daily_counts_day", daily_counts.c.day)  # version 3: the console's day ranges

# Version 2: the fleet's latest status reports (were in a separate fleet.db).
fleet_reports = Table(
    "fleet_reports",
    metadata,
    Column("kiosk_id", Text, primary_key=True),
    Column("branch", Text, nullable=False),
    Column("versions", Text, nullable=False),
    Column("healthy", Integer, nullable=False),
    Column("last_error", Text, nullable=False),
    Column("rejected", Text, nullable=False),
    Column("last_seen", Text, nullable=False),
)

# Version 3: staged rollouts (sync.hq.rollout); the newest row of a bundle name and channel is its rollout.
rollouts = Table(
    "rollouts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("version", Text, nullable=False),
    Column("bundles", Text, nullable=False),  # JSON: each bundle's version, target path and the target it replaced
    Column("plan", Text, nullable=False),  # JSON: stages, canary branches, threshold, soak
    Column("stage", Integer, nullable=False),
    Column("state", Text, nullable=False),
    Column("reason", Text, nullable=False, server_default=""),
    Column("started_at", Text, nullable=False),
    Column("stage_started_at", Text, nullable=False),
    Column("updated_at", Text, nullable=False),
    sqlite_autoincrement=True,
)


def _v1(conn: Connection) -> None:
    for table in (enrolments, intake_items, labels, daily_counts):
        table.create(conn, checkfirst=True)


def _v2(conn: Connection) -> None:
    fleet_reports.create(conn, checkfirst=True)


def _v3(conn: Connection) -> None:
    daily_counts.create(conn, checkfirst=True)
    have = {c["name"] for c in inspect(conn).get_columns("daily_counts")}
    for name in V3_COUNT_COLUMNS:
        if name not in have:  # a store made at version 1 or 2 (a fresh one has them from _v1)
            conn.execute(text(f"ALTER TABLE daily_counts ADD COLUMN {name} INTEGER"))
    daily_counts_by_day.create(conn, checkfirst=True)


def _v4(conn: Connection) -> None:
    rollouts.create(conn, checkfirst=True)


MIGRATIONS: tuple[Callable[[Connection], None], ...] = (_v1, _v2, _v3, _v4)  # MIGRATIONS[n - 1] brings n - 1 to n


class NewerSchemaError(Exception):
    """The store was written by a newer HQ."""

    def __init__(self, found: int) -> None:
        super().__init__(f"schema {found}; this HQ reads up to {SCHEMA_VERSION}")
        self.found = found


def stored_version(conn: Connection) -> int:
    """The store's schema version (0 for an empty store)."""
    meta.create(conn, checkfirst=True)
    value = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar_one_or_none()
    return 0 if value is None else int(value)


def migrate(begin: Callable[[], AbstractContextManager[Connection]]) -> int:
    """Bring the store to :data:`SCHEMA_VERSION`, one transaction per step; the version reached.

    Args:
        begin: Opens a write transaction (a context manager yielding a Connection).

    Raises:
        NewerSchemaError: the store is of a newer version.
    """
    while True:
        with begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
            version = stored_version(conn)
            if version > SCHEMA_VERSION:
                raise NewerSchemaError(version)
            if version == SCHEMA_VERSION:
                return version
            MIGRATIONS[version](conn)
            if version == 0:
                conn.execute(meta.insert().values(key="schema_version", value="1"))
            else:
                conn.execute(meta.update().where(meta.c.key == "schema_version").values(value=str(version + 1)))
