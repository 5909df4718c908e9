"""FastAPI dependencies of the admin page: the context, the signed-in user, roles, CSRF."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Header, HTTPException, Request

from kiosk.admin.accounts import AdminDB, StaffSession
from kiosk.admin.context import SESSION_COOKIE, AdminContext
from kiosk.admin.security import same_token, unsign
from kiosk.storage import Store


class SignInRequired(Exception):  # noqa: N818 - an HTTP outcome, handled by the app
    """No valid session: pages redirect to the sign-in page, APIs answer 401."""

    def __init__(self, api: bool) -> None:
        super().__init__("sign-in required")
        self.api = api


def get_admin(request: Request) -> AdminContext:
    """The admin context on ``app.state``."""
    ctx: AdminContext = request.app.state.admin
    return ctx


def get_db(ctx: Annotated[AdminContext, Depends(get_admin)]) -> AdminDB:
    """The admin tables.

    Raises:
        HTTPException: 503 before the lifespan opened them.
    """
    if ctx.db is None:
        raise HTTPException(status_code=503, detail="admin page is starting")
    return ctx.db


def get_store(ctx: Annotated[AdminContext, Depends(get_admin)]) -> Store:
    """The kiosk store (the admin page's own connection).

    Raises:
        HTTPException: 503 before the lifespan opened it.
    """
    if ctx.store is None:
        raise HTTPException(status_code=503, detail="admin page is starting")
    return ctx.store


def _is_api(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/admin/api/") or path == "/metrics" or request.method != "GET"


def current_session(
    request: Request,
    ctx: Annotated[AdminContext, Depends(get_admin)],
    db: Annotated[AdminDB, Depends(get_db)],
) -> StaffSession:
    """The signed-in staff session.

    Raises:
        SignInRequired: no cookie, a forged or expired one.
    """
    cookie = request.cookies.get(SESSION_COOKIE)
    token = unsign(ctx.secret, cookie) if cookie else None
    session = db.session(token, ctx.clock()) if token else None
    if session is None:
        raise SignInRequired(api=_is_api(request))
    request.state.staff = session
    return session


Staff = Annotated[StaffSession, Depends(current_session)]


def require_supervisor(session: Staff) -> StaffSession:
    """The signed-in session, when it is a supervisor's.

    Raises:
        HTTPException: 403 for staff.
    """
    if not session.user.supervisor:
        raise HTTPException(status_code=403, detail="only a supervisor may do this")
    return session


Supervisor = Annotated[StaffSession, Depends(require_supervisor)]


def csrf_checked(session: StaffSession, csrf: str | None, x_csrf_token: str | None) -> StaffSession:
    """``session``, when the form field (or the ``X-CSRF-Token`` header) carries its token.

    Raises:
        HTTPException: 403 when the token is missing or wrong.
    """
    if not (same_token(csrf, session.csrf) or same_token(x_csrf_token, session.csrf)):
        raise HTTPException(status_code=403, detail="the form expired or did not come from this page; reload it")
    return session


def check_csrf(
    session: Staff,
    csrf: Annotated[str | None, Form()] = None,
    x_csrf_token: Annotated[str | None, Header()] = None,
) -> StaffSession:
    """The signed-in session, when the form (or the ``X-CSRF-Token`` header) carries its token.

    Raises:
        HTTPException: 403 when the token is missing or wrong.
    """
    return csrf_checked(session, csrf, x_csrf_token)


Posted = Annotated[StaffSession, Depends(check_csrf)]
