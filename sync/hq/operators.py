"""HQ operators: accounts and sign-in for the fleet pages.

The admin page's account store is reused as it is (:class:`kiosk.admin.accounts.AdminDB`:
argon2 hashes, per-client lock-out, sessions kept as token digests, idle and
absolute expiry) in a file of HQ's own, ``<home>/operators.db``. Accounts are
made with ``kiosk hq add-user --role operator|viewer`` (:mod:`sync.hq.console.auth`).
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from kiosk.admin import AdminDB, AttemptLimiter, SignInError, StaffUser, new_token, same_token

COOKIE = "hq_session"
LOGIN_COOKIE = "hq_login"
_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"


def operators_db_path(home: Path) -> Path:
    """The operators' accounts and sessions, next to the repository."""
    return home / "operators.db"


def open_operators(home: Path) -> AdminDB:
    """The operators' database (created when missing)."""
    return AdminDB(operators_db_path(home))


def _login_page(request: Request, message: str = "", status: int = 200) -> HTMLResponse:
    """The sign-in form with a fresh form token (double submit: form field and cookie)."""
    token = new_token()
    note = f'<p class="error">{escape(message)}</p>' if message else ""
    page = (
        '<!doctype html><html><head><meta charset="utf-8"><title>HQ sign-in</title>'
        "<style>body{font-family:sans-serif;margin:2em}.error{color:#a00}</style></head><body>"
        f"<h1>HQ sign-in</h1>{note}"
        '<form method="post" action="/login">'
        f'<input type="hidden" name="csrf" value="{token}">'
        '<label>User <input name="username" autocomplete="username" required></label> '
        '<label>Password <input name="password" type="password" autocomplete="current-password" required></label> '
        "<button>Sign in</button></form></body></html>"
    )
    response = HTMLResponse(page, status, headers={"Content-Security-Policy": _CSP})
    response.set_cookie(
        LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https", path="/login"
    )
    return response


def signed_in(request: Any) -> StaffUser | None:
    """The operator of a request's session cookie, or None."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    db: AdminDB = request.app.state.operators
    clock: Callable[[], float] = request.app.state.clock
    session = db.session(token, clock())
    return session.user if session is not None else None


def add_operator_routes(app: FastAPI, home: Path, clock: Callable[[], float]) -> None:
    """``GET/POST /login`` and ``POST /logout`` on ``app``; the database goes on ``app.state``."""
    app.state.operators = open_operators(home)
    app.state.clock = clock
    limiter = AttemptLimiter()

    @app.get("/login", response_class=HTMLResponse)
    async def login_form(request: Request) -> HTMLResponse:
        return _login_page(request)

    @app.post("/login", response_model=None)
    def login(
        *,
        request: Request,
        username: Annotated[str, Form(max_length=64)] = "",
        password: Annotated[str, Form(max_length=256)] = "",
        csrf: Annotated[str, Form(max_length=128)] = "",
    ) -> Response:
        if not same_token(csrf, request.cookies.get(LOGIN_COOKIE)):
            return _login_page(request, "The form expired; please sign in again.", 403)
        client = request.client.host if request.client else "-"
        now = clock()
        if not limiter.allow(client, now):
            return _login_page(request, "Too many attempts; wait a minute.", 429)
        db: AdminDB = app.state.operators
        name = username.strip().lower()
        try:
            user = db.authenticate(name, password, now, client=client)
        except SignInError as err:
            db.audit(name[:32] or "?", "hq_sign_in_failed", client, {"why": str(err)})
            return _login_page(request, str(err), 401)
        token, _csrf = db.open_session(user, now)
        db.audit(user.username, "hq_sign_in", client)
        response = RedirectResponse("/fleet", status_code=303)
        response.set_cookie(
            COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https", path="/"
        )
        response.delete_cookie(LOGIN_COOKIE, path="/login")
        return response

    @app.post("/logout")
    def logout(request: Request) -> Response:
        token = request.cookies.get(COOKIE)
        if token:
            app.state.operators.close_session(token)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response
