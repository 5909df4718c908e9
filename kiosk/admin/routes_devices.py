"""Staff actions on the kiosk's devices from the dashboard: a new paper roll went into the ticket printer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse

from kiosk.admin.accounts import AdminDB
from kiosk.admin.deps import Posted, get_db

router = APIRouter()
DB = Annotated[AdminDB, Depends(get_db)]


@router.post("/devices/printer/refill")
def printer_refilled(request: Request, session: Posted, db: DB) -> RedirectResponse:
    """Staff put a new paper roll in: the printer counts a full roll again (audited).

    Raises:
        HTTPException: 409 when the kiosk runs without a ticket printer.
    """
    runtime = getattr(request.app.state, "runtime", None)
    if runtime is None or runtime.devices.printer is None:
        raise HTTPException(status_code=409, detail="this kiosk has no ticket printer")
    printer = runtime.devices.printer
    slips = runtime.config.devices.paper_slips if printer.paper_slips is not None else None
    printer.refill(slips)
    db.audit(session.user.username, "printer_refilled", "device:printer", {"slips": slips})
    return RedirectResponse("/admin/", status_code=303)
