"""Pages that change how the kiosk runs: settings, audit log, metrics, updates."""

from __future__ import annotations

import hmac
import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse

from kiosk.admin.accounts import AdminDB, StaffSession
from kiosk.admin.charts import line_chart, prometheus
from kiosk.admin.context import AdminContext
from kiosk.admin.deps import Posted, Staff, current_session, get_admin, get_db, get_store
from kiosk.admin.errors import SettingError
from kiosk.admin.overrides import PREFIX, spec, specs
from kiosk.admin.render import page
from kiosk.admin.reports import bundle_versions, by_group, daily, day_start, sync_history
from kiosk.admin.resolution import GroupFigures, figures, outcomes
from kiosk.storage import Store

router = APIRouter()
metrics_router = APIRouter()
Ctx = Annotated[AdminContext, Depends(get_admin)]
DB = Annotated[AdminDB, Depends(get_db)]
KioskStore = Annotated[Store, Depends(get_store)]


def _require_supervisor(session: StaffSession) -> None:
    if not session.user.supervisor:
        raise HTTPException(status_code=403, detail="only a supervisor may do this")


# -- settings -----------------------------------------------------------------------


@router.get("/settings", response_class=HTMLResponse)
def settings_page(request: Request, session: Staff, ctx: Ctx, store: KioskStore) -> HTMLResponse:
    """Every editable setting with its value, bounds and who changed it last."""
    return _settings(request=request, session=session, ctx=ctx, store=store)


def _settings(
    *,
    request: Request,
    session: StaffSession,
    ctx: AdminContext,
    store: Store,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    bounded = specs(_hq_bounds(request))
    values = {s.name: store.get_setting(PREFIX + s.name, s.default) for s in bounded}
    return page(request, ctx, session, "settings", specs=bounded, values=values, error=error, status_code=status)


def _hq_bounds(request: Request) -> dict[str, tuple[float, float]] | None:
    """The staff bounds of the running policy (HQ's), if the engine is up."""
    conversations = getattr(request.app.state, "conversations", None)
    if conversations is None:
        return None
    bounds: dict[str, tuple[float, float]] = conversations.engine.policy.thresholds.staff_bounds
    return bounds


@router.post("/settings", response_class=HTMLResponse, response_model=None)
def change_setting(
    *,
    request: Request,
    session: Posted,
    ctx: Ctx,
    store: KioskStore,
    db: DB,
    name: Annotated[str, Form(max_length=40)],
    value: Annotated[str, Form(max_length=40)] = "",
) -> HTMLResponse | RedirectResponse:
    """Change one setting within its bounds; audited with who and when.

    Raises:
        HTTPException: 403 when staff change a supervisor's setting.
    """
    try:
        setting = spec(name, _hq_bounds(request))
        if setting.supervisor:
            _require_supervisor(session)
        parsed = setting.parse(value)
    except SettingError as err:
        return _settings(request=request, session=session, ctx=ctx, store=store, error=str(err), status=422)
    old = store.get_setting(PREFIX + name, setting.default)
    store.set_setting(PREFIX + name, parsed, session.user.username)
    db.audit(session.user.username, "setting", name, {"from": old, "to": parsed})
    return RedirectResponse("/admin/settings", status_code=303)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, session: Staff, ctx: Ctx, db: DB) -> HTMLResponse:
    """Who did what, when."""
    from kiosk.admin.compliance import last_month

    return page(
        request, ctx, session, "audit", entries=db.audit_log(300), limited=ctx.limiter.blocked, last_month=last_month()
    )


# -- metrics ------------------------------------------------------------------------


@router.get("/metrics", response_class=HTMLResponse)
def metrics_page(request: Request, session: Staff, ctx: Ctx, db: DB) -> HTMLResponse:
    """Charts over the last 14 days, and tables by intent and language for the last 7."""
    now = datetime.now(UTC)
    days = daily(db, now)
    labels = [d.day[5:] for d in days]
    charts = [
        line_chart(
            "Turns / sessions per day",
            labels,
            {"turns": [d.turns for d in days], "sessions": [d.sessions for d in days]},
        ),
        line_chart(
            "Rates per session / turn",
            labels,
            {
                "resolved w/o staff": [d.resolved_rate for d in days],
                "fallback": [d.fallback_rate for d in days],
                "hand-off": [d.handoff_rate for d in days],
                "risk alert": [d.risk_rate for d in days],
            },
        ),
        line_chart(
            "Engine latency (ms)", labels, {"p50": [d.p50_ms for d in days], "p95": [d.p95_ms for d in days]}, " ms"
        ),
    ]
    week = day_start(now - timedelta(days=6))
    return page(
        request,
        ctx,
        session,
        "metrics",
        charts=charts,
        days=days,
        by_intent=by_group(db, "intent", week),
        by_lang=by_group(db, "lang", week),
        resolution=_resolution(db, day_start(now - timedelta(days=13))),
    )


def _resolution(db: AdminDB, since: str) -> dict[str, list[GroupFigures]]:
    """First-contact resolution, satisfaction and tickets per intent, language and day since ``since``."""
    items = outcomes(db, since)
    return {"intent": figures(items, "intent"), "lang": figures(items, "lang"), "day": figures(items, "day")}


_log = logging.getLogger(__name__)
MIN_METRICS_TOKEN = 24


def file_metrics_token(path: Path) -> str | None:
    """The token in ``path``, or None when there is none or it is too short to be a secret."""
    token = path.read_text().strip() if path.is_file() else ""
    if token and len(token) < MIN_METRICS_TOKEN:
        _log.warning("%s: metrics token refused: it must be at least %d characters", path, MIN_METRICS_TOKEN)
        return None
    return token or None


def _metrics_token(ctx: AdminContext) -> str | None:
    if ctx.config.metrics_token:
        return ctx.config.metrics_token
    return file_metrics_token(ctx.settings.state_dir / "admin" / "metrics-token")


@metrics_router.get("/metrics", response_class=PlainTextResponse)
def prometheus_metrics(request: Request, ctx: Ctx, db: DB) -> PlainTextResponse:
    """Prometheus text format: a signed-in user's cookie, or ``Authorization: Bearer <metrics token>``."""
    token = _metrics_token(ctx)
    given = request.headers.get("authorization", "")
    if not (token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())):
        current_session(request, ctx, db)
    health = getattr(request.app.state, "health", None)
    up = health is not None and not health.problems
    return PlainTextResponse(prometheus(db, up), media_type="text/plain; version=0.0.4")


# -- updates ------------------------------------------------------------------------


@router.get("/updates", response_class=HTMLResponse)
def updates_page(request: Request, session: Staff, ctx: Ctx, db: DB) -> HTMLResponse:
    """Bundle versions, sync history, "sync now" and "roll back"."""
    request_file = ctx.settings.state_dir / "sync" / "request-now"
    return page(
        request,
        ctx,
        session,
        "updates",
        bundles=bundle_versions(ctx.settings.state_dir),
        history=sync_history(db),
        sync_pending=request_file.exists(),
    )


@router.post("/updates/sync-now")
def sync_now(session: Posted, ctx: Ctx, db: DB) -> RedirectResponse:
    """Ask the sync agent for a sync at once (it watches ``<state>/sync/request-now``)."""
    folder = ctx.settings.state_dir / "sync"
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".request-now.{os.getpid()}"
    tmp.write_text(f"{session.user.username} {datetime.now(UTC).isoformat(timespec='seconds')}\n")
    os.replace(tmp, folder / "request-now")
    db.audit(session.user.username, "sync_now", "sync")
    return RedirectResponse("/admin/updates", status_code=303)


@router.post("/updates/rollback")
def rollback(
    session: Posted,
    ctx: Ctx,
    db: DB,
    name: Annotated[str, Form(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=64)],
    version: Annotated[str, Form(pattern=r"^[0-9A-Za-z][0-9A-Za-z.+_-]*$", max_length=64)],
) -> RedirectResponse:
    """Point ``active/<name>`` back at an installed version (supervisors only).

    The rollback goes through the sync agent's journal: the version rolled
    back from is held back, so the agent's next poll does not install it
    again; a newer version published by HQ ends the hold.

    Raises:
        HTTPException: 403 for staff; 409 when that version is not installed.
    """
    from sync.agent import roll_back_to
    from sync.errors import ActivationError

    _require_supervisor(session)
    try:
        before = roll_back_to(ctx.settings.state_dir, name, version, by=f"staff {session.user.username}")
    except ActivationError as err:
        raise HTTPException(status_code=409, detail=str(err)) from err
    db.audit(session.user.username, "rollback", name, {"from": before or None, "to": version})
    return RedirectResponse("/admin/updates", status_code=303)
