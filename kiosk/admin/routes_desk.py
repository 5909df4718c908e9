"""Pages staff use all day: dashboard, hand-off queue, conversations, review, live view."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse

from kiosk.admin.accounts import AdminDB
from kiosk.admin.context import AdminContext
from kiosk.admin.deps import Posted, Staff, get_admin, get_db, get_store
from kiosk.admin.render import page, waited
from kiosk.admin.reports import bundle_versions, sync_history, today_counts
from kiosk.dialogue import Action, Stage
from kiosk.intents import INTENTS, LANGS
from kiosk.storage import HandoffStateError, Store

router = APIRouter()
Ctx = Annotated[AdminContext, Depends(get_admin)]
DB = Annotated[AdminDB, Depends(get_db)]
KioskStore = Annotated[Store, Depends(get_store)]
STAGES: tuple[str, ...] = Stage.__args__  # type: ignore[attr-defined]
ACTIONS: tuple[str, ...] = Action.__args__  # type: ignore[attr-defined]
_DATE = r"^\d{4}-\d{2}-\d{2}$"


def _health(request: Request) -> dict[str, Any]:
    health = getattr(request.app.state, "health", None)
    if health is None:
        return {
            "status": "starting",
            "policy": "-",
            "nlu": "-",
            "llm": "-",
            "llm_state": "-",
            "devices": [],
            "components": {},
            "problems": ["the engine is still loading"],
        }
    llm_state = "off"
    conversations = getattr(request.app.state, "conversations", None)
    engine = conversations.engine if conversations is not None else None
    understander = engine.understander if engine is not None else None
    if engine is not None and understander is not None and understander.llm is not None:
        breaker = getattr(understander.llm, "state", "closed")
        uses = [("intent fallback", understander.llm_enabled), ("FAQ answers", engine.composer.enabled)]
        named = [name for name, on in uses if on] + ["hand-off summaries"]
        llm_state = f"breaker {breaker}; used for {', '.join(named)}"
    runtime = getattr(request.app.state, "runtime", None)
    live = runtime.health() if runtime is not None else {"devices": [], "components": {}}
    problems = list(health.problems) + (runtime.problems() if runtime is not None else [])
    return {
        "status": "degraded" if problems else "up",
        "devices": live["devices"],
        "components": live["components"],
        "policy": health.policy_version,
        "nlu": health.nlu_version,
        "llm": getattr(health, "llm_version", "none"),
        "llm_state": llm_state,
        "problems": problems,
    }


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, session: Staff, ctx: Ctx, db: DB) -> HTMLResponse:
    """Kiosk up or degraded, stages, bundle versions, sync state, today's counts."""
    history = sync_history(db, limit=1)
    return page(
        request,
        ctx,
        session,
        "dashboard",
        health=_health(request),
        counts=today_counts(db, datetime.now(UTC)),
        bundles=bundle_versions(ctx.settings.state_dir),
        last_sync=history[0] if history else None,
        sync_known=history is not None,
    )


@router.get("/api/health")
def health_now(request: Request, session: Staff) -> dict[str, Any]:
    """The dashboard's health (devices, components with restarts and back-off, problems), polled by the page."""
    return _health(request)


@router.get("/api/status")
def status(request: Request, session: Staff, db: DB) -> dict[str, Any]:
    """The badge: customers waiting (and how many are risk alerts), plus the kiosk's health."""
    waiting = db.query("SELECT kind, COUNT(*) n FROM handoffs WHERE status = 'waiting' GROUP BY kind")
    by_kind = {r["kind"]: int(r["n"]) for r in waiting}
    latest = db.query("SELECT COALESCE(MAX(id), 0) m FROM handoffs")[0]["m"]
    return {
        "waiting": sum(by_kind.values()),
        "risk": by_kind.get("risk", 0),
        "latest_handoff": int(latest),
        "health": _health(request)["status"],
    }


@router.get("/handoffs", response_class=HTMLResponse)
def handoffs(request: Request, session: Staff, ctx: Ctx, store: KioskStore) -> HTMLResponse:
    """The queue: risk alerts first, then hand-offs, oldest first; accepted ones below."""
    now = datetime.now(UTC)
    rows = [r for status in ("waiting", "accepted") for r in store.handoffs(status)]
    rows.sort(key=lambda r: (r.status != "waiting", r.kind != "risk", r.id))
    items = [{"row": r, "wait": waited(r.at, now)} for r in rows]
    done = store.handoffs("resolved")[-20:][::-1]
    return page(request, ctx, session, "handoffs", items=items, done=done)


@router.get("/handoffs/{handoff_id}", response_class=HTMLResponse)
def handoff_detail(handoff_id: int, request: Request, session: Staff, ctx: Ctx, store: KioskStore) -> HTMLResponse:
    """One hand-off: its summary (and who wrote it), the masked conversation, and what staff did.

    Raises:
        HTTPException: 404 for an unknown one.
    """
    row = store.handoff(handoff_id)
    if row is None:
        raise HTTPException(status_code=404, detail="no such hand-off")
    turns = store.turns(row.session_id, limit=100)
    events = store.handoff_events(handoff_id)
    wait = waited(row.at, datetime.now(UTC))
    return page(request, ctx, session, "handoff", h=row, turns=turns, events=events, wait=wait)


@router.get("/api/handoffs/{handoff_id}/summary")
def handoff_summary(handoff_id: int, session: Staff, store: KioskStore) -> dict[str, Any]:
    """A hand-off's summary (masked) and who wrote it: the page polls it while the LLM is writing.

    Raises:
        HTTPException: 404 for an unknown one.
    """
    row = store.handoff(handoff_id)
    if row is None:
        raise HTTPException(status_code=404, detail="no such hand-off")
    return {"id": row.id, "summary": row.summary, "source": row.summary_source}


@router.post("/handoffs/{handoff_id}/{status}")
def move_handoff(
    *,
    handoff_id: int,
    status: str,
    session: Posted,
    store: KioskStore,
    db: DB,
    note: Annotated[str, Form(max_length=1000)] = "",
) -> RedirectResponse:
    """Accept or resolve a hand-off; a risk alert needs a note to be resolved.

    Raises:
        HTTPException: 404 for an unknown one, 409 for a move its status does not allow, 422 without a note.
    """
    row = store.handoff(handoff_id)
    if row is None:
        raise HTTPException(status_code=404, detail="no such hand-off")
    if status not in ("accepted", "resolved"):
        raise HTTPException(status_code=404, detail="unknown action")
    if status == "resolved" and row.kind == "risk" and len(note.strip()) < 3:
        raise HTTPException(status_code=422, detail="a risk alert needs a note saying what was done")
    try:
        store.set_handoff_status(handoff_id, status, session.user.username, note.strip() or None)
    except HandoffStateError as err:
        raise HTTPException(status_code=409, detail=str(err)) from err
    db.audit(session.user.username, f"handoff_{status}", f"handoff:{handoff_id}", {"kind": row.kind, "note": note})
    return RedirectResponse("/admin/handoffs", status_code=303)


@router.get("/conversations", response_class=HTMLResponse)
def conversations(
    *,
    request: Request,
    session: Staff,
    ctx: Ctx,
    store: KioskStore,
    day_from: Annotated[str, Query(pattern=_DATE)] = "",
    day_to: Annotated[str, Query(pattern=_DATE)] = "",
    intent: Annotated[str, Query(max_length=40)] = "",
    stage: Annotated[str, Query(max_length=20)] = "",
    action: Annotated[str, Query(max_length=20)] = "",
    lang: Annotated[str, Query(max_length=4)] = "",
    session_id: Annotated[str, Query(max_length=128)] = "",
) -> HTMLResponse:
    """Turn history (masked) with filters."""
    until = (datetime.fromisoformat(day_to) + timedelta(days=1)).date().isoformat() if day_to else ""
    turns = store.find_turns(
        limit=300,
        since=day_from,
        until=until,
        intent=intent,
        stage=stage,
        action=action,
        lang=lang,
        session_id=session_id,
    )
    filters = {"day_from": day_from, "day_to": day_to, "intent": intent, "stage": stage, "action": action}
    return page(
        request,
        ctx,
        session,
        "conversations",
        turns=turns,
        filters={**filters, "lang": lang, "session_id": session_id},
        intents=INTENTS,
        stages=STAGES,
        actions=ACTIONS,
        langs=LANGS,
    )


def label_choices(ctx: AdminContext) -> tuple[str, ...]:
    """The intents staff can label with: the core and any the active policy adds (a new service from HQ)."""
    from bundles import active_dir
    from kiosk.policy import PolicyError, load_policy

    directory = active_dir(ctx.settings.state_dir, "policy")
    if directory is None:
        return INTENTS
    try:
        added = load_policy(directory, verify=False).added_intents
    except PolicyError:
        return INTENTS
    return (*INTENTS, *added)


@router.get("/review", response_class=HTMLResponse)
def review(request: Request, session: Staff, ctx: Ctx, db: DB) -> HTMLResponse:
    """Utterances the kiosk was unsure about; staff pick the right intent."""
    items = db.review_queue(ctx.config.review_below)
    recent = db.query("SELECT * FROM review_labels ORDER BY at DESC LIMIT 20")
    return page(request, ctx, session, "review", items=items, intents=label_choices(ctx), recent=recent)


@router.post("/review/{turn_id}")
def label(
    turn_id: int, session: Posted, ctx: Ctx, db: DB, intent: Annotated[str, Form(max_length=40)]
) -> RedirectResponse:
    """Store a staff label for a turn.

    Raises:
        HTTPException: 422 for an unknown intent or turn.
    """
    try:
        db.label(turn_id, intent, session.user.username, known=label_choices(ctx))
    except ValueError as err:
        raise HTTPException(status_code=422, detail=str(err)) from err
    db.audit(session.user.username, "label", f"turn:{turn_id}", {"intent": intent})
    return RedirectResponse("/admin/review", status_code=303)


@router.get("/live", response_class=HTMLResponse)
def live(request: Request, session: Staff, ctx: Ctx, store: KioskStore) -> HTMLResponse:
    """The conversation as it happens (the page listens to :func:`live_events`)."""
    recent = store.find_turns(limit=20)[::-1]
    has_avatar = getattr(request.app.state, "avatar_feed", None) is not None or hasattr(request.app.state, "runtime")
    last_id = recent[-1]["id"] if recent else 0
    return page(request, ctx, session, "live", turns=recent, last_id=last_id, has_avatar=has_avatar)


def _sse(turn: dict[str, Any]) -> str:
    keys = ("id", "at", "session_id", "text", "lang", "intent", "stage", "confidence", "action", "reply", "latency_ms")
    data = json.dumps({k: turn[k] for k in keys}, ensure_ascii=False)
    return f"id: {turn['id']}\nevent: turn\ndata: {data}\n\n"


@router.get("/api/live")
async def live_events(
    request: Request, session: Staff, ctx: Ctx, store: KioskStore, after: Annotated[int, Query(ge=0)] = 0
) -> StreamingResponse:
    """Server-sent events of new turns (masked), polled from the store; ends after a while or when the client goes."""
    last = request.headers.get("last-event-id", "")
    cursor = int(last) if last.isdigit() else after
    cfg = ctx.config

    async def events() -> AsyncIterator[str]:
        nonlocal cursor
        yield "retry: 2000\n\n"
        loop = asyncio.get_running_loop()
        ends = loop.time() + cfg.live_max_seconds
        while loop.time() < ends and not await request.is_disconnected():
            turns = await asyncio.to_thread(store.find_turns, 50, after_id=cursor)
            for turn in reversed(turns):
                cursor = int(turn["id"])
                yield _sse(turn)
            if not turns:
                yield ": keep-alive\n\n"
            await asyncio.sleep(cfg.live_poll_seconds)

    return StreamingResponse(events(), media_type="text/event-stream", headers={"X-Accel-Buffering": "no"})
