"""FastAPI app of the kiosk's local page: type as a customer, see each decision."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field, model_validator

from avatar.stream import router as avatar_router
from kiosk.config import Settings
from kiosk.conversation import MAX_INPUT_CHARS
from kiosk.web.errors import UnicodeText, install_error_handlers
from kiosk.web.trust import (
    BoundaryPolicy,
    TrustBoundary,
    host_allow_list,
    new_device_token,
    require_device,
    require_viewer,
)

STATIC_DIR = Path(__file__).resolve().parent / "static"
_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class RatingRequest(BaseModel):
    """The customer's rating at the end of a conversation: a tapped choice or the words they said or typed."""

    model_config = ConfigDict(extra="forbid")

    session: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")
    rating: str | None = Field(default=None, max_length=20, description="'good', 'bad' or 'skipped' (tapped).")
    text: UnicodeText | None = Field(default=None, max_length=200, description="Spoken or typed words, e.g. 满意.")


class TurnRequest(BaseModel):
    """A customer's input from the page."""

    model_config = ConfigDict(extra="forbid")

    session: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")
    text: UnicodeText | None = Field(default=None, max_length=MAX_INPUT_CHARS)
    button: UnicodeText | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _one_input(self) -> TurnRequest:
        if self.text is None and self.button is None:
            raise ValueError("give 'text' or 'button'")
        return self


def get_conversations(request: Request) -> Any:
    """The app's conversations (set up in the lifespan)."""
    return request.app.state.conversations


def write_device_token(state_dir: Path, token: str) -> Path:
    """Write this process's device token to ``<state>/device-token`` (mode 0600, atomically).

    The kiosk's own browser (same box) may open ``/kiosk?device=<token>``; a
    browser on the kiosk itself also gets the token by opening the page on loopback.
    """
    from bundles import atomic_write_bytes

    path = state_dir / "device-token"
    atomic_write_bytes(path, token.encode())
    return path


def create_app(settings: Settings, *, device_token: str | None = None) -> FastAPI:
    """Build the kiosk page app; models and the store load in the lifespan.

    Args:
        settings: The kiosk's settings (``settings.web``: hosts, TLS, body limits).
        device_token: The kiosk screen's token; a fresh random one by default
            (``app.state.device_token``, also written to ``<state>/device-token``).
    """
    from kiosk.web.runtime_routes import router as kiosk_router  # /api/kiosk/... (act as the customer)

    web = settings.web
    token = device_token or new_device_token()
    boundary = BoundaryPolicy(
        device_token=token,
        allowed_hosts=host_allow_list(settings.host, web.allowed_hosts),
        max_body_bytes=web.max_body_bytes,
        upload_limits={"/api/kiosk/voice": web.max_upload_bytes, "/api/kiosk/idcard": web.max_upload_bytes},
        secure_cookie=web.tls_cert is not None,
        response_headers=tuple((k.lower().encode(), v.encode()) for k, v in _SECURITY_HEADERS.items()),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from kiosk.assembly import build_kiosk

        await anyio.to_thread.run_sync(lambda: write_device_token(settings.state_dir, token))
        kiosk = await anyio.to_thread.run_sync(lambda: build_kiosk(settings))
        app.state.kiosk = kiosk
        app.state.conversations = kiosk.conversations
        app.state.health = kiosk.health
        app.state.turn_lock = anyio.Lock()
        runtime = None
        if settings.runtime is not None:  # the whole kiosk: devices, presence, voice, the live avatar
            runtime = await anyio.to_thread.run_sync(
                lambda: kiosk.attach_runtime(ticket_dir=settings.state_dir / "tickets")
            )
            app.state.runtime = runtime
            app.state.avatar_feed = runtime.screen
            await runtime.start()
        yield
        if runtime is not None:
            await runtime.stop()
        # Devices, then a summary being written (briefly), then the store.
        await anyio.to_thread.run_sync(lambda: kiosk.close(summary_wait_s=5.0, cut=True))

    app = FastAPI(title="Bank kiosk", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.device_token = token
    app.state.boundary = boundary
    install_error_handlers(app)

    # Host, Origin, body size, the kiosk's cookie, security headers (pure ASGI: bodies stream through it).
    app.add_middleware(TrustBoundary, policy=boundary)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # /avatar/frame.png, /avatar/stream.mjpg: the kiosk screen (device token) or signed-in staff only.
    app.include_router(avatar_router, dependencies=[Depends(require_viewer)])
    app.include_router(kiosk_router)  # device token required (router dependency)
    from kiosk.admin import AdminConfig, mount_admin  # the staff admin page under /admin (kiosk/admin/)

    mount_admin(app, settings, AdminConfig(cookie_secure=web.tls_cert is not None))

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    @app.get("/kiosk", include_in_schema=False)
    async def kiosk_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "kiosk.html")

    @app.get("/healthz")
    async def healthz(request: Request) -> dict[str, Any]:
        health = request.app.state.health
        return {
            "status": "degraded" if health.problems else "ok",
            "policy": health.policy_version,
            "nlu": health.nlu_version,
            "problems": health.problems,
        }

    customer = APIRouter(dependencies=[Depends(require_device)])

    @customer.post("/api/session")
    async def new_session() -> dict[str, str]:
        return {"session": uuid.uuid4().hex}

    @customer.post("/api/turn")
    async def turn(
        body: TurnRequest, request: Request, conversations: Annotated[Any, Depends(get_conversations)]
    ) -> dict[str, Any]:
        async with request.app.state.turn_lock:
            try:
                decision, latency_ms = await anyio.to_thread.run_sync(
                    lambda: conversations.turn(body.session, text=body.text, button=body.button)
                )
            except Exception as err:
                raise HTTPException(status_code=500, detail="the kiosk could not handle this turn") from err
        return {**decision.model_dump(mode="json"), "latency_ms": round(latency_ms, 2)}

    @customer.post("/api/rating")
    async def rate(body: RatingRequest, request: Request) -> dict[str, str]:
        from kiosk.conversation import RatingError, rating_of

        try:
            rating = rating_of(body.rating, body.text)
        except RatingError as err:
            raise HTTPException(status_code=422, detail=str(err)) from err
        store = request.app.state.conversations.store
        source = "tap" if body.rating is not None else "text"
        if store is None or not await anyio.to_thread.run_sync(
            lambda: store.rate_session(body.session, rating, source)
        ):
            raise HTTPException(status_code=404, detail="no such conversation")
        return {"session": body.session, "rating": rating}

    app.include_router(customer)
    return app
