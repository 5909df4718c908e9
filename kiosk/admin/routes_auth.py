"""Sign-in and sign-out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kiosk.admin.accounts import AdminDB
from kiosk.admin.context import LOGIN_COOKIE, SESSION_COOKIE, AdminContext
from kiosk.admin.deps import Posted, get_admin, get_db
from kiosk.admin.errors import SignInError
from kiosk.admin.security import new_token, same_token, sign

router = APIRouter()
Ctx = Annotated[AdminContext, Depends(get_admin)]


def _login_page(request: Request, ctx: AdminContext, error: str | None = None, status: int = 200) -> HTMLResponse:
    token = new_token()
    response = ctx.templates.TemplateResponse(
        request, "login.html", {"csrf": token, "error": error}, status_code=status
    )
    response.set_cookie(
        LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=ctx.config.cookie_secure, path="/admin"
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, ctx: Ctx) -> HTMLResponse:
    """The sign-in form."""
    return _login_page(request, ctx)


@router.post("/login", response_model=None)
def login(
    *,
    request: Request,
    ctx: Ctx,
    db: Annotated[AdminDB, Depends(get_db)],
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    csrf: Annotated[str, Form(max_length=128)],
) -> Response:
    """Check the password (argon2, off the event loop) and open a session."""
    if not same_token(csrf, request.cookies.get(LOGIN_COOKIE)):
        return _login_page(request, ctx, "The form expired; please sign in again.", 403)
    client = request.client.host if request.client else "?"
    now = ctx.clock()
    if not ctx.limiter.allow(client, now):
        return _login_page(request, ctx, "Too many attempts; wait a minute.", 429)
    name = username.strip().lower()
    try:
        user = db.authenticate(name, password, now, client)
    except SignInError as err:
        db.audit(name[:32] or "?", "sign_in_failed", client, {"why": str(err)})
        return _login_page(request, ctx, str(err), 401)
    token, _ = db.open_session(user, now)
    db.audit(user.username, "sign_in", client)
    response = RedirectResponse("/admin/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        sign(ctx.secret, token),
        httponly=True,
        samesite="strict",
        secure=ctx.config.cookie_secure,
        path="/",
        max_age=int(ctx.config.session_max_hours * 3600),
    )
    response.delete_cookie(LOGIN_COOKIE, path="/admin")
    return response


@router.post("/logout")
def logout(request: Request, session: Posted, ctx: Ctx, db: Annotated[AdminDB, Depends(get_db)]) -> RedirectResponse:
    """End the session."""
    from kiosk.admin.security import unsign

    token = unsign(ctx.secret, request.cookies.get(SESSION_COOKIE, ""))
    if token:
        db.close_session(token)
    db.audit(session.user.username, "sign_out", "-")
    response = RedirectResponse("/admin/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
