"""The HQ console's pages and their JSON: fleet, rollout, label intake, KPIs and fairness.

Every route needs an operator's sign-in (:mod:`sync.hq.console.auth`); posts
need an ``operator`` and the session's form token. Handlers are plain ``def``
so FastAPI runs their database reads in its thread pool, off the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from sync.errors import HqError
from sync.hq.console.auth import Posted, Session, SignInRequired, hq_role
from sync.hq.console.fleetview import FleetSummary, KioskRow, kiosk_rows, silent_for, summary
from sync.hq.console.kpis import (
    DIMENSIONS,
    Dimension,
    FairnessView,
    KpiRow,
    Totals,
    TotalsCache,
    fairness,
    kpi_rows,
    totals_query,
)
from sync.hq.console.rollout import RolloutRow, published_targets, with_adoption
from sync.hq.db import LABEL_STATUSES, HqDB
from sync.hq.rollout import rollout_status

PACKAGE = Path(__file__).parent
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
NAV: tuple[tuple[str, str, str], ...] = (
    ("fleet", "/fleet", "Fleet 设备"),
    ("rollout", "/rollout", "Rollout 发布"),
    ("labels", "/labels", "Labels 标注"),
    ("kpis", "/kpis", "KPIs 指标"),
)
LABELS_SHOWN = 500
"""Labels listed on one page (oldest first); the JSON has them all."""
DAY = r"^\d{4}-\d{2}-\d{2}$"
StatusQuery = Annotated[Literal["new", "accepted", "rejected", "all"], Query()]
DayQuery = Annotated[str | None, Query(pattern=DAY)]
BranchQuery = Annotated[str | None, Query(max_length=128, description="Only this branch.")]


class ConsoleSettings(BaseModel):
    """Settings of the HQ console."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    offline_after_s: float = Field(
        default=900.0, gt=0, description="A kiosk silent this long is offline (3 polls of the agent's default 300 s)."
    )
    kpi_days: int = Field(default=30, ge=1, le=3660, description="Days the KPI pages cover by default.")
    fairness_gap_pp: float = Field(
        default=10.0, ge=0, description="Decided-rate gap (percentage points) that flags a fairness comparison."
    )
    kpi_cache_s: float = Field(
        default=300.0, ge=0, description="Seconds the KPI pages reuse a day range's totals (0: read every time)."
    )


class KpiPage(BaseModel):
    """What ``/api/kpis`` answers."""

    model_config = ConfigDict(frozen=True)

    since: str
    until: str
    as_of: str = Field(description="When the counts were read (UTC); reused up to kpi_cache_s seconds.")
    by: Dimension
    rows: tuple[KpiRow, ...]


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def add_console_routes(
    app: FastAPI, hq: HqDB, home: Path, clock: Callable[[], float], settings: ConsoleSettings
) -> None:
    """The console's routes on ``app`` (whose ``app.state.operators`` holds the accounts)."""
    from fastapi.templating import Jinja2Templates

    templates = Jinja2Templates(directory=PACKAGE / "templates")
    templates.env.filters["percent"] = _percent
    templates.env.filters["silent"] = silent_for

    @app.exception_handler(SignInRequired)
    async def sign_in_first(_request: Request, err: SignInRequired) -> Response:
        if err.api:
            return JSONResponse({"detail": "sign in at /login first"}, 401)
        return RedirectResponse("/login", status_code=303)

    def now() -> datetime:
        return datetime.fromtimestamp(clock(), UTC)

    def render(request: Request, session: Session, name: str, **values: Any) -> HTMLResponse:
        response = templates.TemplateResponse(
            request,
            f"{name}.html",
            {"user": session.user, "role": hq_role(session.user), "csrf": session.csrf, "nav": NAV, "active": name}
            | values,
        )
        response.headers["Content-Security-Policy"] = CSP
        return response

    def fleet_rows() -> list[KioskRow]:
        return kiosk_rows(hq.fleet(), now(), settings.offline_after_s)

    def day_range(since: str | None, until: str | None) -> tuple[str, str]:
        try:
            last = date.fromisoformat(until).isoformat() if until else now().date().isoformat()
            first = since or (date.fromisoformat(last) - timedelta(days=settings.kpi_days - 1)).isoformat()
            date.fromisoformat(first)
        except ValueError as err:
            raise HTTPException(422, f"not a day: {err}") from err
        if first > last:
            raise HTTPException(422, f"since ({first}) is after until ({last})")
        return first, last

    def rollout_rows(fleet: list[dict[str, Any]]) -> list[RolloutRow]:
        return with_adoption(published_targets(home), (r["versions"] for r in fleet))

    @app.get("/", response_class=RedirectResponse)
    def home_page(_session: Session) -> RedirectResponse:
        return RedirectResponse("/fleet", status_code=303)

    @app.get("/console.css", response_class=FileResponse)
    def stylesheet(_session: Session) -> FileResponse:
        return FileResponse(PACKAGE / "static" / "console.css", media_type="text/css")

    @app.get("/fleet", response_class=HTMLResponse)
    def fleet_page(request: Request, session: Session) -> HTMLResponse:
        rows = fleet_rows()
        return render(request, session, "fleet", rows=rows, summary=summary(rows), settings=settings)

    @app.get("/api/fleet")
    def fleet_api(_session: Session) -> list[dict[str, Any]]:
        return [r.model_dump(exclude={"silent_s"}) for r in fleet_rows()]

    @app.get("/api/fleet/summary")
    def fleet_summary(_session: Session) -> FleetSummary:
        return summary(fleet_rows())

    @app.get("/rollout", response_class=HTMLResponse)
    def rollout_page(request: Request, session: Session) -> HTMLResponse:
        fleet = hq.fleet()
        try:
            rows, error = rollout_rows(fleet), ""
        except HqError as err:
            rows, error = [], str(err)
        return render(request, session, "rollout", rows=rows, kiosks=len(fleet), error=error, staged=rollout_status(hq))

    @app.get("/api/rollouts")
    def staged_rollouts_api(_session: Session) -> list[dict[str, Any]]:
        """The newest staged rollout of each bundle and channel: stage, state, why, and the fleet's health on it."""
        return [asdict(r) for r in rollout_status(hq)]

    @app.get("/api/rollout")
    def rollout_api(_session: Session) -> list[RolloutRow]:
        try:
            return rollout_rows(hq.fleet())
        except HqError as err:
            raise HTTPException(503, str(err)) from err

    @app.get("/labels", response_class=HTMLResponse)
    def labels_page(request: Request, session: Session, status: StatusQuery = "new") -> HTMLResponse:
        rows = hq.labels(None if status == "all" else status)
        return render(
            request,
            session,
            "labels",
            rows=rows[:LABELS_SHOWN],
            total=len(rows),
            status=status,
            statuses=(*LABEL_STATUSES, "all"),
        )

    @app.get("/api/labels")
    def labels_api(_session: Session, status: StatusQuery = "new") -> list[dict[str, Any]]:
        return hq.labels(None if status == "all" else status)

    @app.post("/labels/{label_id}", response_model=None)
    def judge_label(
        request: Request,
        label_id: int,
        session: Posted,
        verdict: Annotated[Literal["accepted", "rejected"], Form()],
        back: Annotated[Literal["new", "accepted", "rejected", "all"], Form()] = "new",
    ) -> Response:
        try:
            row = hq.judge(label_id, verdict, by=session.user.username)
        except HqError as err:
            raise HTTPException(404, str(err)) from err
        client = request.client.host if request.client else "-"
        request.app.state.operators.audit(
            session.user.username,
            f"hq_label_{verdict}",
            f"label:{label_id}",
            {"kiosk": row["kiosk_id"], "intent": row["intent"], "lang": row["lang"], "client": client},
        )
        if request.headers.get("x-csrf-token"):
            return JSONResponse(row)
        return RedirectResponse(f"/labels?status={back}", status_code=303)

    cache = TotalsCache(settings.kpi_cache_s)

    def totals(since: str | None, until: str | None, branch: str | None) -> tuple[str, str, str, Totals]:
        first, last = day_range(since, until)
        read_at, rows = cache.get(first, last, clock(), lambda: hq.read(totals_query(first, last)))
        as_of = datetime.fromtimestamp(read_at, UTC).isoformat(timespec="seconds")
        return first, last, as_of, [r for r in rows if branch is None or r["branch"] == branch]

    @app.get("/kpis", response_class=HTMLResponse)
    def kpis_page(
        request: Request,
        session: Session,
        since: DayQuery = None,
        until: DayQuery = None,
        branch: BranchQuery = None,
    ) -> HTMLResponse:
        first, last, as_of, rows = totals(since, until, None)
        branches = sorted({str(r["branch"]) for r in rows})
        chosen = [r for r in rows if r["branch"] == branch] if branch else rows
        tables = {by: kpi_rows(chosen, by) for by in DIMENSIONS}
        view = fairness(chosen, settings.fairness_gap_pp)
        return render(
            request,
            session,
            "kpis",
            since=first,
            until=last,
            tables=tables,
            fairness=view,
            branches=branches,
            branch=branch or "",
            as_of=as_of,
            cache_s=settings.kpi_cache_s,
        )

    @app.get("/api/kpis")
    def kpis_api(
        _session: Session,
        by: Dimension = "branch",
        since: DayQuery = None,
        until: DayQuery = None,
        branch: BranchQuery = None,
    ) -> KpiPage:
        first, last, as_of, rows = totals(since, until, branch)
        return KpiPage(since=first, until=last, as_of=as_of, by=by, rows=tuple(kpi_rows(rows, by)))

    @app.get("/api/fairness")
    def fairness_api(
        _session: Session, since: DayQuery = None, until: DayQuery = None, branch: BranchQuery = None
    ) -> FairnessView:
        *_range, rows = totals(since, until, branch)
        return fairness(rows, settings.fairness_gap_pp)
