"""KPIs of the fleet from the uploaded daily counts: per branch, intent and language, and the fairness view.

One grouped query (:func:`totals_query`) sums the counts of a day range per
branch, language and intent in the database; everything else here is pure
arithmetic on those rows (one per branch, language and intent). Kiosks that uploaded counts before risk alerts
and the elderly-mode split existed are not guessed at: their turns are left
out of those two figures and counted as "not reported".
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field
from sqlalchemy import Select, case, func, select

from sync.hq.schema import daily_counts, fleet_reports

Dimension = Literal["branch", "intent", "lang"]
DIMENSIONS: tuple[Dimension, ...] = ("branch", "intent", "lang")
NO_BRANCH = "(no status report)"
_OUTCOMES = ("turns", "decided", "clarified", "handed_off")


def _share(count: int | None, of: int) -> float | None:
    return None if count is None or of == 0 else count / of


class KpiRow(BaseModel):
    """Turns of one group by outcome, and their rates (None when the group has no turns)."""

    model_config = ConfigDict(frozen=True)

    group: str = Field(description="The branch, intent, language or fairness group.")
    turns: int = Field(ge=0, description="All turns.")
    decided: int = Field(ge=0, description="Turns answered or acted on without clarification or hand-off.")
    clarified: int = Field(ge=0, description="Turns where the kiosk asked the customer to clarify.")
    handed_off: int = Field(ge=0, description="Turns handed to staff (hand-offs and risk alerts).")
    risk_alerts: int | None = Field(description="Risk alerts among the turns that reported them; None: none did.")
    risk_turns: int = Field(ge=0, description="Turns of kiosks that report risk alerts (the risk rate's base).")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def decided_rate(self) -> float | None:
        """Share of turns decided."""
        return _share(self.decided, self.turns)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def clarification_rate(self) -> float | None:
        """Share of turns that asked to clarify."""
        return _share(self.clarified, self.turns)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def handoff_rate(self) -> float | None:
        """Share of turns handed to staff."""
        return _share(self.handed_off, self.turns)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def risk_alert_rate(self) -> float | None:
        """Share of the reporting turns that raised a risk alert."""
        return _share(self.risk_alerts, self.risk_turns)


class FairnessView(BaseModel):
    """Zh vs en and elderly mode vs standard, with the gaps of the decided rate in percentage points."""

    model_config = ConfigDict(frozen=True)

    languages: tuple[KpiRow, ...] = Field(description="One row per language (zh and en always).")
    modes: tuple[KpiRow, ...] = Field(description="Elderly mode and standard mode.")
    not_reported_turns: int = Field(description="Turns of kiosks that did not report the elderly-mode split.")
    language_gap_pp: float | None = Field(description="Decided rate of zh minus en, percentage points.")
    mode_gap_pp: float | None = Field(description="Decided rate of elderly mode minus standard, percentage points.")
    threshold_pp: float = Field(description="A gap larger than this (either way) is flagged.")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def flagged(self) -> tuple[str, ...]:
        """The comparisons whose gap exceeds the threshold."""
        gaps = (("zh vs en", self.language_gap_pp), ("elderly vs standard", self.mode_gap_pp))
        return tuple(name for name, gap in gaps if gap is not None and abs(gap) > self.threshold_pp)


class _Sums:
    """Running sums of outcome counts; risk alerts stay None until a row reports them."""

    __slots__ = ("clarified", "decided", "handed_off", "risk_alerts", "risk_turns", "turns")

    def __init__(self) -> None:
        self.turns = self.decided = self.clarified = self.handed_off = self.risk_turns = 0
        self.risk_alerts: int | None = None

    def add(self, counts: tuple[int, int, int, int], risk_alerts: int | None, risk_turns: int) -> None:
        self.turns += counts[0]
        self.decided += counts[1]
        self.clarified += counts[2]
        self.handed_off += counts[3]
        if risk_alerts is not None:
            self.risk_alerts = (self.risk_alerts or 0) + risk_alerts
        self.risk_turns += risk_turns

    def row(self, group: str) -> KpiRow:
        return KpiRow(
            group=group,
            turns=self.turns,
            decided=self.decided,
            clarified=self.clarified,
            handed_off=self.handed_off,
            risk_alerts=self.risk_alerts,
            risk_turns=self.risk_turns,
        )


def totals_query(since: str, until: str) -> Select[Any]:
    """Counts of days ``since``..``until`` (inclusive, ``YYYY-MM-DD``) summed per branch, language and intent.

    The branch is the one in the kiosk's latest status report. ``mode_*`` columns sum only
    rows that carry the elderly-mode split, so standard mode is ``mode_x - elderly_x``.
    """
    c = daily_counts.c
    branch = func.coalesce(fleet_reports.c.branch, NO_BRANCH).label("branch")

    def when_split(column: Any) -> Any:
        return func.sum(case((c.elderly_turns.is_(None), 0), else_=func.coalesce(column, 0)))

    columns = [
        branch,
        c.lang,
        c.intent,
        *(func.sum(c[name]).label(name) for name in _OUTCOMES),
        func.sum(c.risk_alerts).label("risk_alerts"),
        func.sum(case((c.risk_alerts.is_(None), 0), else_=c.turns)).label("risk_turns"),
        *(func.sum(c[f"elderly_{name}"]).label(f"elderly_{name}") for name in (*_OUTCOMES, "risk_alerts")),
        *(when_split(c[name]).label(f"mode_{name}") for name in (*_OUTCOMES, "risk_alerts")),
        when_split(case((c.risk_alerts.is_(None), 0), else_=c.turns)).label("mode_risk_turns"),
    ]
    return (
        select(*columns)
        .select_from(daily_counts.outerjoin(fleet_reports, fleet_reports.c.kiosk_id == c.kiosk_id))
        .where(c.day >= since, c.day <= until)
        .group_by(branch, c.lang, c.intent)
        .order_by(branch, c.lang, c.intent)
    )


def _int(value: Any) -> int:
    return int(value or 0)


def _four(row: Mapping[str, Any], prefix: str = "") -> tuple[int, int, int, int]:
    return (
        _int(row[f"{prefix}turns"]),
        _int(row[f"{prefix}decided"]),
        _int(row[f"{prefix}clarified"]),
        _int(row[f"{prefix}handed_off"]),
    )


def _add_row(sums: _Sums, row: Mapping[str, Any]) -> None:
    risk = row["risk_alerts"]
    sums.add(_four(row), None if risk is None else int(risk), _int(row["risk_turns"]))


def kpi_rows(totals: Iterable[Mapping[str, Any]], by: Dimension) -> list[KpiRow]:
    """KPIs per branch, intent or language from :func:`totals_query` rows, busiest group first."""
    groups: dict[str, _Sums] = {}
    for row in totals:
        key = str(row[by])
        sums = groups.get(key)
        if sums is None:
            sums = groups[key] = _Sums()
        _add_row(sums, row)
    return [s.row(k) for k, s in sorted(groups.items(), key=lambda kv: (-kv[1].turns, kv[0]))]


def fairness(totals: Iterable[Mapping[str, Any]], threshold_pp: float = 10.0) -> FairnessView:
    """Zh vs en and elderly mode vs standard from :func:`totals_query` rows."""
    languages = {"zh": _Sums(), "en": _Sums()}
    elderly, standard = _Sums(), _Sums()
    not_reported = 0
    for row in totals:
        lang = str(row["lang"])
        if lang not in languages:
            languages[lang] = _Sums()
        _add_row(languages[lang], row)
        split_turns = _int(row["mode_turns"])
        not_reported += _int(row["turns"]) - split_turns
        if split_turns == 0 and row["elderly_turns"] is None:
            continue
        old, mode = _four(row, "elderly_"), _four(row, "mode_")
        old_risk = _int(row["elderly_risk_alerts"])
        rest = (max(0, mode[0] - old[0]), max(0, mode[1] - old[1]), max(0, mode[2] - old[2]), max(0, mode[3] - old[3]))
        elderly.add(old, old_risk, old[0])
        standard.add(rest, max(0, _int(row["mode_risk_alerts"]) - old_risk), rest[0])
    order = sorted(languages, key=lambda lang: (lang not in ("zh", "en"), lang != "zh", lang))
    lang_rows = tuple(languages[lang].row(lang) for lang in order)
    mode_rows = (elderly.row("elderly mode"), standard.row("standard"))
    return FairnessView(
        languages=lang_rows,
        modes=mode_rows,
        not_reported_turns=not_reported,
        language_gap_pp=_gap(lang_rows[0], lang_rows[1]),
        mode_gap_pp=_gap(mode_rows[0], mode_rows[1]),
        threshold_pp=threshold_pp,
    )


def _gap(a: KpiRow, b: KpiRow) -> float | None:
    if a.decided_rate is None or b.decided_rate is None:
        return None
    return round(100 * (a.decided_rate - b.decided_rate), 1)


Totals = list[dict[str, Any]]


@dataclass(slots=True)
class TotalsCache:
    """:func:`totals_query` results per day range, kept ``ttl_s`` seconds.

    Counts arrive once per kiosk and finished day, so a few minutes' staleness
    costs little, while one range's totals serve every table, branch filter and
    the fairness view of the page without scanning the counts again.
    """

    ttl_s: float
    max_ranges: int = 32
    _entries: dict[tuple[str, str], tuple[float, Totals]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, since: str, until: str, now: float, load: Callable[[], Totals]) -> tuple[float, Totals]:
        """The totals of ``since``..``until`` and when they were read; ``load`` reads them when stale."""
        key = (since, until)
        with self._lock:
            hit = self._entries.get(key)
        if hit is not None and 0 <= now - hit[0] < self.ttl_s:
            return hit
        entry = (now, load())
        with self._lock:
            self._entries.pop(key, None)
            self._entries[key] = entry
            while len(self._entries) > self.max_ranges:
                self._entries.pop(next(iter(self._entries)))
        return entry
