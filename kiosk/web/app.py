"""FastAPI app of the kiosk's local page: type as a customer, see each decision."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import anyio
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field, model_validator

from kiosk.config import Settings
from kiosk.web.avatar_stream import router as avatar_router

STATIC_DIR = Path(__file__).resolve().parent / "static"
_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class TurnRequest(BaseModel):
    """A customer's input from the page."""

    model_config = ConfigDict(extra="forbid")

    session: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")
    text: str | None = Field(default=None, max_length=2000)
    button: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _one_input(self) -> TurnRequest:
        if self.text is None and self.button is None:
            raise ValueError("give 'text' or 'button'")
        return self


def get_conversations(request: Request) -> Any:
    """The app's conversations (set up in the lifespan)."""
    return request.app.state.conversations


def create_app(settings: Settings) -> FastAPI:
    """Build the kiosk page app; models and the store load in the lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from kiosk.assembly import EngineReloader
        from kiosk.conversation import Conversations
        from kiosk.store import Store

        store = Store(settings.db_path)
        # New conversations pick up bundles the sync agent switched, and staff settings.
        reloader = await anyio.to_thread.run_sync(lambda: EngineReloader.start(settings, tickets=store))
        health = reloader.health
        app.state.conversations = Conversations(reloader.engine, store, reloader=reloader)
        app.state.health = health
        app.state.turn_lock = anyio.Lock()
        runtime = None
        if settings.runtime is not None:  # the whole kiosk: devices, presence, voice, the live avatar
            from kiosk.runtime import build_runtime

            runtime = await anyio.to_thread.run_sync(
                lambda: build_runtime(
                    app.state.conversations,
                    settings.runtime,  # type: ignore[arg-type]
                    state_dir=settings.state_dir,
                    health=health,
                    ticket_dir=settings.state_dir / "tickets",
                )
            )
            app.state.runtime = runtime
            app.state.avatar_feed = runtime.screen
            await runtime.start()
        yield
        if runtime is not None:
            await runtime.stop()
            runtime.devices.close()
        summaries = app.state.conversations.summaries
        if summaries is not None:  # a summary being written finishes (briefly) before the store closes
            await anyio.to_thread.run_sync(summaries.close)
        store.close()

    app = FastAPI(title="Bank kiosk", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers.update(_SECURITY_HEADERS)
        return response

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(avatar_router)  # /avatar/frame.png, /avatar/stream.mjpg
    from kiosk.runtime.web import router as kiosk_router  # /api/kiosk/... (act as the customer)

    app.include_router(kiosk_router)
    from kiosk.admin import mount_admin  # the staff admin page under /admin (kiosk/admin/)

    mount_admin(app, settings)

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    @app.get("/healthz")
    async def healthz(request: Request) -> dict[str, Any]:
        health = request.app.state.health
        return {
            "status": "degraded" if health.problems else "ok",
            "policy": health.policy_version,
            "nlu": health.nlu_version,
            "problems": health.problems,
        }

    @app.post("/api/session")
    async def new_session() -> dict[str, str]:
        return {"session": uuid.uuid4().hex}

    @app.post("/api/turn")
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

    return app
