"""Mounting the admin page into the kiosk's app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from kiosk.admin.config import AdminConfig
from kiosk.admin.context import STATIC_DIR, TEMPLATES_DIR, AdminContext
from kiosk.admin.deps import SignInRequired
from kiosk.config import Settings


def mount_admin(app: FastAPI, settings: Settings, config: AdminConfig | None = None) -> AdminContext:
    """Add the admin page under ``/admin`` (and ``/metrics``) to ``app``.

    The admin tables open in the app's lifespan; the page uses the kiosk's store
    (``app.state.kiosk``, built by the app's own lifespan, :func:`kiosk.web.create_app`),
    or opens its own when the app built no kiosk.
    Every page and API needs a signed-in user; ``/healthz`` stays public.
    """
    from kiosk.admin.render import stored_reason
    from kiosk.admin.routes_auth import router as auth_router
    from kiosk.admin.routes_desk import router as desk_router
    from kiosk.admin.routes_devices import router as devices_router
    from kiosk.admin.routes_manage import metrics_router
    from kiosk.admin.routes_manage import router as manage_router
    from kiosk.admin.routes_report import router as report_router

    templates = Jinja2Templates(directory=TEMPLATES_DIR)
    templates.env.filters["reason"] = stored_reason
    ctx = AdminContext(settings=settings, config=config or AdminConfig(), templates=templates)
    app.state.admin = ctx
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: FastAPI) -> AsyncIterator[Any]:
        async with inner(a) as state:
            kiosk = getattr(a.state, "kiosk", None)
            ctx.open(store=None if kiosk is None else kiosk.store)
            try:
                yield state
            finally:
                ctx.close()

    app.router.lifespan_context = lifespan

    @app.exception_handler(SignInRequired)
    async def sign_in_required(request: Request, exc: SignInRequired) -> Response:
        if exc.api:
            return JSONResponse({"detail": "sign-in required"}, status_code=401)
        return RedirectResponse("/admin/login", status_code=303)

    app.mount("/admin/static", StaticFiles(directory=STATIC_DIR), name="admin-static")
    for router in (auth_router, desk_router, devices_router, manage_router, report_router):
        app.include_router(router, prefix="/admin", include_in_schema=False)
    app.include_router(metrics_router, include_in_schema=False)
    return ctx
