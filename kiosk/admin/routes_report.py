"""The monthly compliance report as a PDF download (supervisors only)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import Response

from kiosk.admin.accounts import AdminDB
from kiosk.admin.compliance import ReportError, gather
from kiosk.admin.compliance_pdf import render_pdf
from kiosk.admin.context import AdminContext
from kiosk.admin.deps import Staff, get_admin, get_db

router = APIRouter()
Ctx = Annotated[AdminContext, Depends(get_admin)]
DB = Annotated[AdminDB, Depends(get_db)]


@router.get("/report.pdf")
async def compliance_report(
    session: Staff, ctx: Ctx, db: DB, month: Annotated[str, Query(pattern=r"^[0-9]{4}-[0-9]{2}$")]
) -> Response:
    """The month's compliance report (``?month=YYYY-MM``), drawn off the event loop.

    Raises:
        HTTPException: 403 for staff; 422 for a month that does not exist; 500 when no CJK font is installed.
    """
    if not session.user.supervisor:
        raise HTTPException(status_code=403, detail="only a supervisor may do this")
    try:
        figures = await asyncio.to_thread(gather, db, ctx.settings.state_dir, month)
    except ReportError as err:
        raise HTTPException(status_code=422, detail=str(err)) from err
    try:
        data = await asyncio.to_thread(render_pdf, figures)
    except ReportError as err:
        raise HTTPException(status_code=500, detail=str(err)) from err
    db.audit(session.user.username, "compliance_report", month)
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="compliance-{month}.pdf"'},
    )
