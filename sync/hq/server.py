"""``kiosk hq serve``: the repository as static files, signed kiosk messages and the fleet view.

Kiosk endpoints (``POST /api/report``, ``POST /api/intake``) take only
messages signed by an enrolled kiosk (:mod:`sync.envelope`); the fleet
(``/fleet``, ``/api/fleet``) needs an HQ operator's sign-in
(:mod:`sync.hq.operators`).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sync.envelope import Envelope, EnvelopeError, ReplayWindow
from sync.hq.db import HqDB, hq_db_path
from sync.hq.identity import authenticate
from sync.messages import IntakeBatch, IntakeReceipt

MAX_REPORT_BYTES = 64 * 1024

_FLEET_SCHEMA = """
CREATE TABLE IF NOT EXISTS kiosks (
    kiosk_id TEXT PRIMARY KEY,
    branch TEXT NOT NULL,
    versions TEXT NOT NULL,
    healthy INTEGER NOT NULL,
    last_error TEXT NOT NULL,
    rejected TEXT NOT NULL,
    last_seen TEXT NOT NULL
);
"""


class StatusReport(BaseModel):
    """What a kiosk's agent reports."""

    model_config = ConfigDict(extra="ignore")

    kiosk_id: str = Field(min_length=1, max_length=128, description="The kiosk's id.")
    branch: str = Field(default="", max_length=128, description="Its branch.")
    versions: dict[str, str] = Field(default_factory=dict, description="Active version per bundle.")
    healthy: bool = Field(default=True, description="Whether its last cycle went well.")
    last_error: str = Field(default="", max_length=2000, description="Its last sync error.")
    rejected: dict[str, list[str]] = Field(default_factory=dict, description="Versions it rejected or rolled back.")


def _db(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=10)
    conn.executescript(_FLEET_SCHEMA)
    return conn


def record_report(db_path: Path, report: StatusReport) -> None:
    """Store a kiosk's latest report."""
    conn = _db(db_path)
    try:
        with conn:
            conn.execute(
                "INSERT OR REPLACE INTO kiosks VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    report.kiosk_id,
                    report.branch,
                    _dumps(report.versions),
                    int(report.healthy),
                    report.last_error,
                    _dumps(report.rejected),
                    datetime.now(UTC).isoformat(timespec="seconds"),
                ),
            )
    finally:
        conn.close()


def _dumps(obj: Any) -> str:
    import json

    return json.dumps(obj, ensure_ascii=False, sort_keys=True)


def fleet(db_path: Path) -> list[dict[str, Any]]:
    """Every kiosk that reported: versions, last seen, health, failed activations."""
    import json

    conn = _db(db_path)
    try:
        rows = conn.execute("SELECT * FROM kiosks ORDER BY branch, kiosk_id").fetchall()
    finally:
        conn.close()
    return [
        {
            "kiosk_id": r[0],
            "branch": r[1],
            "versions": json.loads(r[2]),
            "healthy": bool(r[3]),
            "last_error": r[4],
            "rejected": json.loads(r[5]),
            "last_seen": r[6],
        }
        for r in rows
    ]


def fleet_html(rows: list[dict[str, Any]]) -> str:
    """The fleet as an HTML table for HQ operators (every value escaped)."""
    from html import escape

    def cell(value: Any) -> str:
        return f"<td>{escape(str(value))}</td>"

    body = []
    for row in rows:
        versions = ", ".join(f"{k} {v}" for k, v in sorted(row["versions"].items()))
        rejected = "; ".join(
            f"{name} {' '.join(versions) if isinstance(versions, list) else versions}"
            for name, versions in sorted(row["rejected"].items())
        )
        health = "healthy" if row["healthy"] else "unhealthy"
        body.append(
            f'<tr class="{health}">'
            + cell(row["branch"])
            + cell(row["kiosk_id"])
            + cell(versions)
            + cell(health)
            + cell(rejected)
            + cell(row["last_error"] or "")
            + cell(row["last_seen"])
            + "</tr>"
        )
    head = "".join(
        f"<th>{h}</th>"
        for h in ("branch", "kiosk", "bundle versions", "health", "failed activations", "last error", "last seen")
    )
    return (
        '<!doctype html><html><head><meta charset="utf-8"><title>Kiosk fleet</title>'
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccd;padding:4px 8px;text-align:left}"
        "tr.unhealthy td{background:#fde8e8}</style></head><body>"
        f"<h1>Kiosk fleet</h1><p>{len(rows)} kiosk(s)</p><table><tr>{head}</tr>{''.join(body)}</table>"
        "</body></html>"
    )


def create_hq_app(home: Path, window: ReplayWindow | None = None, clock: Callable[[], float] = time.time) -> Any:
    """The HQ server: static ``/metadata`` and ``/targets``, signed kiosk posts, the signed-in fleet view.

    Args:
        home: The HQ repository folder (``hq.db``, ``fleet.db`` and ``operators.db`` live there).
        window: Freshness rules of signed messages.
        clock: Wall time in seconds (tests move it).
    """
    from fastapi.staticfiles import StaticFiles

    from sync.hq.operators import add_operator_routes, signed_in

    db_path = home / "fleet.db"
    hq = HqDB(hq_db_path(home))
    rules = window or ReplayWindow()
    app = FastAPI(title="Kiosk HQ", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.hq_db = hq
    add_operator_routes(app, home, clock)

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
        await asyncio.to_thread(hq.accept, envelope, clock(), rules)
        await asyncio.to_thread(record_report, db_path, status)
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

    @app.get("/api/fleet", response_model=None)
    async def fleet_view(request: Request) -> list[dict[str, Any]] | JSONResponse:
        if not signed_in(request):
            return JSONResponse({"detail": "sign in at /login first"}, 401)
        return await asyncio.to_thread(fleet, db_path)

    @app.get("/fleet", response_class=HTMLResponse)
    async def fleet_page(request: Request) -> Response:
        if not signed_in(request):
            return Response(status_code=303, headers={"Location": "/login"})
        return HTMLResponse(
            fleet_html(await asyncio.to_thread(fleet, db_path)),
            headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"},
        )

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
