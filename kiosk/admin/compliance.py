"""The monthly compliance report's figures, read from ``kiosk.db`` and the installed bundles.

Everything here is already masked at rest (turn text, hand-off reasons, staff notes,
audit details); the report adds no customer text of its own beyond what staff see.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from kiosk.admin.accounts import AdminDB
from kiosk.admin.reports import bundle_versions, percentile

_MONTH = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")
DECIDED_ACTIONS = frozenset({"answer", "ticket", "end"})
CLARIFIED_ACTIONS = frozenset({"ask", "clarify"})


class ReportError(ValueError):
    """The report cannot be made: a malformed month, or no font to draw Chinese with."""


def last_month(now: datetime | None = None) -> str:
    """``YYYY-MM`` of the month before ``now`` (UTC): the report a branch files at the start of a month."""
    first = (now or datetime.now(UTC)).astimezone(UTC).date().replace(day=1)
    previous = date(first.year - 1, 12, 1) if first.month == 1 else first.replace(month=first.month - 1)
    return previous.strftime("%Y-%m")


def month_range(month: str) -> tuple[str, str]:
    """The ISO bounds ``[first day, first day of the next month)`` of ``YYYY-MM``.

    Raises:
        ReportError: not a ``YYYY-MM`` month.
    """
    found = _MONTH.match(month)
    if found is None:
        raise ReportError(f"month must be YYYY-MM, got {month[:20]!r}")
    year, mon = int(found[1]), int(found[2])
    first = date(year, mon, 1)
    following = date(year + 1, 1, 1) if mon == 12 else date(year, mon + 1, 1)
    return first.isoformat(), following.isoformat()


@dataclass(frozen=True, slots=True)
class GroupFigures:
    """Turns and sessions of one group (all, a language, elderly mode on or off)."""

    group: str
    sessions: int
    turns: int
    decided: int
    clarified: int
    handed_off: int
    risk_alerts: int
    p95_ms: float

    def rate(self, count: int) -> float:
        """``count`` as a share of this group's turns (0 when there are none)."""
        return count / self.turns if self.turns else 0.0


@dataclass(frozen=True, slots=True)
class RiskAlert:
    """One risk alert and what staff did with it."""

    at: str
    lang: str
    reason: str
    status: str
    actions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ComplianceReport:
    """Everything the monthly PDF shows."""

    month: str
    generated_at: str
    overall: GroupFigures
    by_language: tuple[GroupFigures, ...]
    by_elderly: tuple[GroupFigures, ...]
    tickets: int
    risk_alerts: tuple[RiskAlert, ...]
    versions: tuple[dict[str, Any], ...]
    version_events: tuple[dict[str, Any], ...]
    settings_changes: tuple[dict[str, Any], ...]
    staff_actions: dict[str, int] = field(default_factory=dict)


def _figures(group: str, sessions: set[str], turns: list[dict[str, Any]]) -> GroupFigures:
    actions = [str(t["action"]) for t in turns]
    return GroupFigures(
        group=group,
        sessions=len(sessions),
        turns=len(turns),
        decided=sum(a in DECIDED_ACTIONS for a in actions),
        clarified=sum(a in CLARIFIED_ACTIONS for a in actions),
        handed_off=actions.count("handoff"),
        risk_alerts=actions.count("risk_alert"),
        p95_ms=percentile([float(t["latency_ms"]) for t in turns], 0.95),
    )


def _elderly_by_session(db: AdminDB, since: str, until: str) -> dict[str, bool]:
    rows = db.query("SELECT id, elderly FROM sessions WHERE started_at >= ? AND started_at < ?", (since, until))
    return {str(r["id"]): bool(r["elderly"]) for r in rows}


def _risk_alerts(db: AdminDB, since: str, until: str) -> tuple[RiskAlert, ...]:
    alerts = db.query(
        "SELECT id, at, lang, reason, status FROM handoffs WHERE kind = 'risk' AND at >= ? AND at < ? ORDER BY at",
        (since, until),
    )
    out = []
    for alert in alerts:
        events = db.query(
            "SELECT at, status, by, note FROM handoff_events WHERE handoff_id = ? ORDER BY id", (alert["id"],)
        )
        actions = tuple(
            f"{e['at'][:16].replace('T', ' ')} {e['status']} by {e['by']}" + (f": {e['note']}" if e["note"] else "")
            for e in events
        )
        out.append(RiskAlert(alert["at"], alert["lang"], alert["reason"], alert["status"], actions))
    return tuple(out)


def _version_events(db: AdminDB, since: str, until: str) -> tuple[dict[str, Any], ...]:
    # kiosk.db always has sync_events (statedb creates every table for whichever writer opens it first).
    rows = db.query(
        "SELECT at, event, name, version, ok FROM sync_events WHERE event IN ('activated', 'rolled_back')"
        " AND at >= ? AND at < ? ORDER BY at",
        (since, until),
    )
    for entry in db.query(
        "SELECT at, username, target, detail FROM audit_log WHERE action = 'rollback' AND at >= ? AND at < ?",
        (since, until),
    ):
        detail = json.loads(entry["detail"] or "{}")
        rows.append(
            {
                "at": entry["at"],
                "event": f"rolled back by {entry['username']}",
                "name": entry["target"],
                "version": str(detail.get("to", "")),
                "ok": 1,
            }
        )
    return tuple(sorted(rows, key=lambda r: str(r["at"])))


def _last_activation(db: AdminDB, name: str, until: str) -> str:
    rows = db.query(
        "SELECT at FROM sync_events WHERE name = ? AND event = 'activated' AND ok = 1 AND at < ? ORDER BY at DESC"
        " LIMIT 1",
        (name, until),
    )
    return str(rows[0]["at"]) if rows else ""


def gather(db: AdminDB, state_dir: Path, month: str, now: datetime | None = None) -> ComplianceReport:
    """The figures of ``month`` (``YYYY-MM``).

    Raises:
        ReportError: a malformed month.
    """
    since, until = month_range(month)
    turns = db.query(
        "SELECT t.session_id, t.lang, t.action, t.latency_ms FROM turns t WHERE t.at >= ? AND t.at < ?",
        (since, until),
    )
    elderly = _elderly_by_session(db, since, until)
    sessions = {str(t["session_id"]) for t in turns}

    def group(name: str, keep: Any) -> GroupFigures:
        chosen = [t for t in turns if keep(t)]
        return _figures(name, {str(t["session_id"]) for t in chosen}, chosen)

    languages = sorted({str(t["lang"]) for t in turns} | {"zh", "en"})
    versions = tuple({**b, "activated_at": _last_activation(db, b["name"], until)} for b in bundle_versions(state_dir))
    settings_changes = tuple(
        {**e, "detail": json.loads(e["detail"] or "{}")}
        for e in db.query(
            "SELECT at, username, target, detail FROM audit_log WHERE action = 'setting' AND at >= ? AND at < ?"
            " ORDER BY at",
            (since, until),
        )
    )
    staff = db.query(
        "SELECT action, COUNT(*) n FROM audit_log WHERE action LIKE 'handoff_%' AND at >= ? AND at < ? GROUP BY action",
        (since, until),
    )
    return ComplianceReport(
        month=month,
        generated_at=(now or datetime.now(UTC)).isoformat(timespec="seconds"),
        overall=_figures("all", sessions, turns),
        by_language=tuple(group(lang, lambda t, lang=lang: t["lang"] == lang) for lang in languages),
        by_elderly=(
            group("elderly mode", lambda t: elderly.get(str(t["session_id"]), False)),
            group("standard", lambda t: not elderly.get(str(t["session_id"]), False)),
        ),
        tickets=int(db.query("SELECT COUNT(*) n FROM tickets WHERE at >= ? AND at < ?", (since, until))[0]["n"]),
        risk_alerts=_risk_alerts(db, since, until),
        versions=versions,
        version_events=_version_events(db, since, until),
        settings_changes=settings_changes,
        staff_actions={str(r["action"]): int(r["n"]) for r in staff},
    )
