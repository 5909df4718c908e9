"""Read-only reports over ``kiosk.db`` for the dashboard, metrics and updates pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kiosk.admin.accounts import AdminDB


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0-1) of ``values`` by nearest rank; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[rank]


def day_start(now: datetime) -> str:
    """Midnight UTC of ``now``'s day, as stored times are written (ISO, UTC)."""
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0).isoformat()


def today_counts(db: AdminDB, now: datetime) -> dict[str, int]:
    """Today's turns, sessions, hand-offs, risk alerts, tickets and waiting queue."""
    since = day_start(now)

    def one(sql: str, *args: Any) -> int:
        return int(db.query(sql, args)[0]["n"])

    return {
        "turns": one("SELECT COUNT(*) n FROM turns WHERE at >= ?", since),
        "sessions": one("SELECT COUNT(*) n FROM sessions WHERE started_at >= ?", since),
        "handoffs": one("SELECT COUNT(*) n FROM handoffs WHERE at >= ? AND kind = 'handoff'", since),
        "risk_alerts": one("SELECT COUNT(*) n FROM handoffs WHERE at >= ? AND kind = 'risk'", since),
        "tickets": one("SELECT COUNT(*) n FROM tickets WHERE at >= ?", since),
        "waiting": one("SELECT COUNT(*) n FROM handoffs WHERE status = 'waiting'"),
    }


@dataclass(frozen=True, slots=True)
class DayFigures:
    """One day of the metrics page."""

    day: str
    turns: int
    sessions: int
    resolved_rate: float
    fallback_rate: float
    handoff_rate: float
    risk_rate: float
    p50_ms: float
    p95_ms: float


def daily(db: AdminDB, now: datetime, days: int = 14) -> list[DayFigures]:
    """Per-day figures for the last ``days`` days (oldest first)."""
    first = (now.astimezone(UTC) - timedelta(days=days - 1)).date()
    turns = db.query("SELECT substr(at, 1, 10) d, stage, latency_ms FROM turns WHERE at >= ?", (first.isoformat(),))
    sessions = db.query(
        "SELECT substr(started_at, 1, 10) d, outcome FROM sessions WHERE started_at >= ?", (first.isoformat(),)
    )
    handoffs = db.query("SELECT substr(at, 1, 10) d, kind FROM handoffs WHERE at >= ?", (first.isoformat(),))
    out: list[DayFigures] = []
    for i in range(days):
        day = (first + timedelta(days=i)).isoformat()
        t = [r for r in turns if r["d"] == day]
        s = [r for r in sessions if r["d"] == day]
        h = [r for r in handoffs if r["d"] == day]
        n_s = len(s) or 1
        latencies = [float(r["latency_ms"]) for r in t]
        out.append(
            DayFigures(
                day=day,
                turns=len(t),
                sessions=len(s),
                resolved_rate=sum(r["outcome"] == "resolved" for r in s) / n_s,
                fallback_rate=sum(r["stage"] == "fallback" for r in t) / (len(t) or 1),
                handoff_rate=sum(r["kind"] == "handoff" for r in h) / n_s,
                risk_rate=sum(r["kind"] == "risk" for r in h) / n_s,
                p50_ms=percentile(latencies, 0.5),
                p95_ms=percentile(latencies, 0.95),
            )
        )
    return out


def by_group(db: AdminDB, column: str, since: str) -> list[dict[str, Any]]:
    """Turns, fallback share and p95 latency per intent or per language since an ISO time.

    Raises:
        ValueError: a column other than ``intent`` or ``lang``.
    """
    if column not in ("intent", "lang"):
        raise ValueError("group by intent or lang")
    rows = db.query(f"SELECT {column} g, stage, latency_ms FROM turns WHERE at >= ?", (since,))  # noqa: S608
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(str(row["g"]), []).append(row)
    return [
        {
            "group": g,
            "turns": len(rs),
            "fallback": sum(r["stage"] == "fallback" for r in rs) / len(rs),
            "p95_ms": percentile([float(r["latency_ms"]) for r in rs], 0.95),
        }
        for g, rs in sorted(groups.items(), key=lambda kv: -len(kv[1]))
    ]


def bundle_versions(state_dir: Path) -> list[dict[str, Any]]:
    """Each installed bundle: active version, installed ones (newest name last), held-back ones, kind, licence."""
    from bundles import active_manifest, bundles_root
    from sync.agent import held_versions

    root = bundles_root(state_dir)
    held = held_versions(state_dir)
    out: list[dict[str, Any]] = []
    for folder in sorted(p for p in root.glob("*") if p.is_dir()) if root.is_dir() else []:
        manifest = active_manifest(state_dir, folder.name)
        versions = sorted(v.name for v in folder.iterdir() if v.is_dir() and not v.name.startswith("."))
        out.append(
            {
                "name": folder.name,
                "active": manifest.version if manifest else None,
                "origin": manifest.origin if manifest else None,
                "installed": versions,
                "held": held.get(folder.name, []),
                "kind": manifest.kind if manifest else None,
                "licence": str(manifest.source.get("licence", "")) if manifest else "",
            }
        )
    return out


def sync_history(db: AdminDB, limit: int = 50) -> list[dict[str, Any]] | None:
    """The sync agent's recent events, or None when it has not recorded any table yet."""
    if not db.has_table("sync_events"):
        return None
    return db.query("SELECT * FROM sync_events ORDER BY rowid DESC LIMIT ?", (limit,))
