"""Rendering admin pages: the shared template context."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from kiosk.admin.accounts import StaffSession
from kiosk.admin.context import AdminContext
from kiosk.dialogue import Reason

NAV: tuple[tuple[str, str, str], ...] = (
    ("dashboard", "/admin/", "Dashboard 概览"),
    ("live", "/admin/live", "Live 实时"),
    ("handoffs", "/admin/handoffs", "Hand-offs 转人工"),
    ("conversations", "/admin/conversations", "Conversations 对话"),
    ("review", "/admin/review", "Review 复核"),
    ("metrics", "/admin/metrics", "Metrics 指标"),
    ("settings", "/admin/settings", "Settings 设置"),
    ("audit", "/admin/audit", "Audit 审计"),
    ("updates", "/admin/updates", "Updates 更新"),
)


def waited(at: str, now: datetime | None = None) -> str:
    """How long ago an ISO time was, for people: ``4 min``, ``2 h 5 min``."""
    try:
        then = datetime.fromisoformat(at)
    except ValueError:
        return "?"
    seconds = max(0, int(((now or datetime.now(UTC)) - then).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def stored_reason(raw: str | None) -> Reason | None:
    """A turn's stored reason (JSON), or None for turns stored before reasons were, or unreadable ones."""
    if not raw:
        return None
    try:
        return Reason.model_validate_json(raw)
    except ValueError:
        return None


def page(
    request: Request, ctx: AdminContext, session: StaffSession, name: str, status_code: int = 200, **values: Any
) -> HTMLResponse:
    """Render ``templates/<name>.html`` with the user, the form token and the queue badge."""
    waiting = len(ctx.store.handoffs("waiting")) if ctx.store is not None else 0
    return ctx.templates.TemplateResponse(
        request,
        f"{name}.html",
        {"user": session.user, "csrf": session.csrf, "nav": NAV, "active": name, "waiting": waiting, **values},
        status_code=status_code,
    )
