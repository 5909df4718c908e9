"""``kiosk hq serve``: the repository as static files, signed kiosk messages and the operators' console.

Kiosk endpoints (``POST /api/report``, ``POST /api/intake``) take only
messages signed by an enrolled kiosk (:mod:`sync.envelope`); every console
page and its JSON (:mod:`sync.hq.console`) needs an HQ operator's sign-in
(:mod:`sync.hq.operators`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sync.envelope import Envelope, EnvelopeError, ReplayWindow
from sync.hq.console import ConsoleSettings
from sync.hq.db import FleetReport, HqDB, HqStoreError, hq_db_url
from sync.hq.identity import authenticate
from sync.messages import IntakeBatch, IntakeReceipt

MAX_REPORT_BYTES = 64 * 1024


class StatusReport(BaseModel):
    """What a kiosk's agent reports."""

    model_config = ConfigDict(extra="ignore")

    kiosk_id: str = Field(min_length=1, max_length=128, description="The kiosk's id.")
    branch: str = Field(default="", max_length=128, description="Its branch.")
    versions: dict[str, str] = Field(default_factory=dict, description="Active version per bundle.")
    healthy: bool = Field(default=True, description="Whether its last cycle went well.")
    last_error: str = Field(default="", max_length=2000, description="Its last sync error.")
    rejected: dict[str, list[str]] = Field(default_factory=dict, description="Versions it rejected or rolled back.")


def create_hq_app(
    home: Path,
    window: ReplayWindow | None = None,
    clock: Callable[[], float] = time.time,
    db_url: str = "",
    console: ConsoleSettings | None = None,
) -> Any:
    """The HQ server: static ``/metadata`` and ``/targets``, signed kiosk posts, the signed-in fleet view.

    Args:
        home: The HQ repository folder (``operators.db``, and ``hq.db`` unless ``db_url`` says otherwise).
        window: Freshness rules of signed messages.
        clock: Wall time in seconds (tests move it).
        db_url: HQ's store (:func:`sync.hq.db.hq_db_url`); default ``sqlite:///HOME/hq.db``.
        console: Settings of the operators' console (:mod:`sync.hq.console`).

    Raises:
        HqError: the store cannot be opened.
    """
    from fastapi.staticfiles import StaticFiles

    from sync.hq.console import add_console_routes
    from sync.hq.operators import add_operator_routes

    hq = HqDB(hq_db_url(home, db_url))
    rules = window or ReplayWindow()
    app = FastAPI(title="Kiosk HQ", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.hq_db = hq
    add_operator_routes(app, home, clock)
    add_console_routes(app, hq, home, clock, console or ConsoleSettings())

    @app.middleware("http")
    async def bound_body(request: Request, call_next: Any) -> Response:
        """A status report is a few KiB: refuse bodies over MAX_REPORT_BYTES before reading them."""
        if request.method == "POST":
            size = request.headers.get("content-length", "")
            if not size.isdigit() or int(size) > MAX_REPORT_BYTES:
                return JSONResponse({"detail": f"body must declare a length of at most {MAX_REPORT_BYTES} bytes"}, 413)
        response: Response = await call_next(request)
        return response

    @app.exception_handler(EnvelopeError)
    async def refused(_request: Request, err: EnvelopeError) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, err.status)

    async def signed_body(request: Request) -> tuple[Envelope, bytes]:
        body = await request.body()
        if len(body) > MAX_REPORT_BYTES:
            raise _RefusedError(413, f"body must be at most {MAX_REPORT_BYTES} bytes")
        envelope = await asyncio.to_thread(
            _authenticate, hq, dict(request.headers), request.url.path, body, clock(), rules
        )
        return envelope, body

    @app.exception_handler(HqStoreError)
    async def store_down(_request: Request, _err: HqStoreError) -> JSONResponse:
        return JSONResponse({"detail": "HQ's store is unavailable; send again later"}, 503)

    @app.exception_handler(_RefusedError)
    async def refused_body(_request: Request, err: _RefusedError) -> JSONResponse:
        return JSONResponse({"detail": err.detail}, err.status)

    @app.post("/api/report")
    async def report(request: Request) -> dict[str, bool]:
        envelope, body = await signed_body(request)
        try:
            status = StatusReport.model_validate_json(body)
        except ValidationError as err:
            raise _RefusedError(422, f"not a status report: {err.error_count()} error(s)") from err
        if status.kiosk_id != envelope.kiosk_id:
            raise _RefusedError(403, f"kiosk {envelope.kiosk_id!r} cannot report for {status.kiosk_id!r}")
        fleet_report = FleetReport(
            status.kiosk_id, status.branch, status.versions, status.healthy, status.last_error, status.rejected
        )
        await asyncio.to_thread(hq.accept, envelope, clock(), rules, None, fleet_report)  # one transaction
        return {"ok": True}

    @app.post("/api/intake")
    async def intake(request: Request) -> IntakeReceipt:
        envelope, body = await signed_body(request)
        try:
            batch = IntakeBatch.model_validate_json(body)
        except ValidationError as err:
            raise _RefusedError(
                422, f"not an intake batch: {err.errors(include_url=False, include_input=False)}"
            ) from err
        return await asyncio.to_thread(hq.accept, envelope, clock(), rules, batch)

    app.mount("/metadata", StaticFiles(directory=home / "public" / "metadata"), name="metadata")
    app.mount("/targets", StaticFiles(directory=home / "public" / "targets"), name="targets")
    return app


class _RefusedError(Exception):
    """A kiosk post HQ refuses with ``status`` (after or beside the envelope checks)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _authenticate(  # noqa: PLR0917 - a positional adapter for asyncio.to_thread
    hq: HqDB, headers: dict[str, str], path: str, body: bytes, now: float, rules: ReplayWindow
) -> Envelope:
    return authenticate(hq, headers, path=path, body=body, now=now, window=rules)
