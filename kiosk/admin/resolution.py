"""First-contact resolution, satisfaction and ticket conversion per intent, language and day (issue 14).

A session's intent is the first intent the kiosk decided that is a service
(not a greeting, small talk or goodbye), else ``(unclear)`` when the kiosk
was unsure, else ``(none)``; its language and day are the session's.
Definitions (docs/adr/0016-why-this-answer-and-resolution.md):

- served: some turn answered or issued a ticket for a service (not ``out_of_scope``, a greeting,
  small talk or goodbye);
- first-contact resolution: served, with no hand-off or risk alert and no repeat question
  (no turn where the kiosk had to clarify or ask again, and no service intent asked for twice;
  a flow completing its own intent is not a repeat);
- satisfaction: good ratings over good + bad ratings (skipped ratings are counted, not scored);
- ticket conversion: sessions in which a queue ticket was issued, over sessions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from kiosk.admin.accounts import AdminDB

GroupBy = Literal["intent", "lang", "day"]
_NOT_A_SERVICE = frozenset({"greeting", "smalltalk", "goodbye"})
_NOT_SERVED = _NOT_A_SERVICE | {"out_of_scope"}
UNCLEAR = "(unclear)"
"""The intent of a session in which the kiosk never decided a service and was unsure at least once."""
NO_SERVICE = "(none)"
"""The intent of a session of greetings and goodbyes only."""


@dataclass(frozen=True, slots=True)
class SessionOutcome:
    """What one session came to."""

    session_id: str
    day: str
    lang: str
    intent: str
    served: bool
    handed_off: bool
    repeated: bool
    ticket: bool
    rating: str | None

    @property
    def first_contact(self) -> bool:
        """Served with no hand-off and no repeat question."""
        return self.served and not self.handed_off and not self.repeated


@dataclass(frozen=True, slots=True)
class GroupFigures:
    """The figures of one intent, language or day."""

    group: str
    sessions: int
    first_contact: int
    good: int
    bad: int
    skipped: int
    tickets: int

    @property
    def fcr_rate(self) -> float:
        """First-contact resolution over sessions."""
        return self.first_contact / self.sessions if self.sessions else 0.0

    @property
    def satisfaction(self) -> float | None:
        """Good over good + bad; None when nobody rated."""
        rated = self.good + self.bad
        return self.good / rated if rated else None

    @property
    def ticket_rate(self) -> float:
        """Sessions with a ticket over sessions."""
        return self.tickets / self.sessions if self.sessions else 0.0


def outcomes(db: AdminDB, since: str) -> list[SessionOutcome]:
    """Every session started at or after the ISO time ``since``, with what it came to."""
    sessions = db.query("SELECT id, started_at, lang FROM sessions WHERE started_at >= ? ORDER BY id", (since,))
    if not sessions:
        return []
    turns = db.query(
        "SELECT t.session_id, t.intent, t.stage, t.action FROM turns t JOIN sessions s ON s.id = t.session_id"
        " WHERE s.started_at >= ? ORDER BY t.id",
        (since,),
    )
    handoffs = {r["session_id"] for r in db.query("SELECT DISTINCT session_id FROM handoffs WHERE at >= ?", (since,))}
    ratings = {
        r["session_id"]: r["rating"] for r in db.query("SELECT session_id, rating FROM ratings WHERE at >= ?", (since,))
    }
    by_session: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for t in turns:
        by_session[t["session_id"]].append(t)
    out = []
    for s in sessions:
        ts = by_session.get(s["id"], [])
        services = [t["intent"] for t in ts if t["stage"] != "fallback" and t["intent"] not in _NOT_A_SERVICE]
        asked = [t["intent"] for t in ts if t["stage"] not in ("fallback", "flow")]
        asked = [i for i in asked if i not in _NOT_A_SERVICE]
        unsure = any(t["stage"] == "fallback" for t in ts)
        intent = services[0] if services else UNCLEAR if unsure else NO_SERVICE
        out.append(
            SessionOutcome(
                session_id=s["id"],
                day=str(s["started_at"])[:10],
                lang=s["lang"] or "?",
                intent=intent,
                served=any(t["action"] in ("answer", "ticket") and t["intent"] not in _NOT_SERVED for t in ts),
                handed_off=s["id"] in handoffs or any(t["action"] in ("handoff", "risk_alert") for t in ts),
                repeated=any(t["action"] == "clarify" for t in ts)
                or len(asked) != len(set(asked))
                or any(t["stage"] == "fallback" and t["action"] == "ask" for t in ts),
                ticket=any(t["action"] == "ticket" for t in ts),
                rating=ratings.get(s["id"]),
            )
        )
    return out


def figures(items: list[SessionOutcome], by: GroupBy) -> list[GroupFigures]:
    """Figures per intent, language or day (days oldest first, others busiest first)."""
    groups: dict[str, list[SessionOutcome]] = defaultdict(list)
    for o in items:
        groups[getattr(o, by)].append(o)
    rows = [
        GroupFigures(
            group=g,
            sessions=len(os),
            first_contact=sum(o.first_contact for o in os),
            good=sum(o.rating == "good" for o in os),
            bad=sum(o.rating == "bad" for o in os),
            skipped=sum(o.rating == "skipped" for o in os),
            tickets=sum(o.ticket for o in os),
        )
        for g, os in groups.items()
    ]
    if by == "day":
        return sorted(rows, key=lambda r: r.group)
    return sorted(rows, key=lambda r: (-r.sessions, r.group))


def prometheus_lines(items: list[SessionOutcome], label: Callable[[str], str]) -> list[str]:
    """Gauges of the figures per intent and language, for ``/metrics`` (``label`` escapes label values)."""
    lines = [
        "# HELP kiosk_sessions_window Sessions in the resolution window (7 days), by intent or language.",
        "# TYPE kiosk_sessions_window gauge",
        "# HELP kiosk_first_contact_resolution_ratio Served with no hand-off and no repeat question (7 days).",
        "# TYPE kiosk_first_contact_resolution_ratio gauge",
        "# HELP kiosk_satisfaction_ratio Good ratings over good and bad ratings (7 days); absent when none.",
        "# TYPE kiosk_satisfaction_ratio gauge",
        "# HELP kiosk_ticket_conversion_ratio Sessions that got a queue ticket (7 days).",
        "# TYPE kiosk_ticket_conversion_ratio gauge",
        "# HELP kiosk_ratings_window Ratings given (7 days), by rating.",
        "# TYPE kiosk_ratings_window gauge",
    ]
    groupings: tuple[GroupBy, ...] = ("intent", "lang")
    for by in groupings:
        for f in figures(items, by):
            key = f'{by}="{label(f.group)}"'
            lines.append(f"kiosk_sessions_window{{{key}}} {f.sessions}")
            lines.append(f"kiosk_first_contact_resolution_ratio{{{key}}} {f.fcr_rate:.4f}")
            if f.satisfaction is not None:
                lines.append(f"kiosk_satisfaction_ratio{{{key}}} {f.satisfaction:.4f}")
            lines.append(f"kiosk_ticket_conversion_ratio{{{key}}} {f.ticket_rate:.4f}")
    for rating in ("good", "bad", "skipped"):
        lines.append(f'kiosk_ratings_window{{rating="{rating}"}} {sum(o.rating == rating for o in items)}')
    return lines
