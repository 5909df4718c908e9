"""Who may use the HQ console: signed-in operators, their role, and the form token of their session.

HQ has two roles, kept in ``operators.db`` with the admin page's account store:
``viewer`` (the account role ``staff``) sees every page; ``operator`` (``supervisor``)
also accepts and rejects labels. Accounts are made with ``kiosk hq add-user --role``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import Depends, Form, Header, HTTPException, Request

from kiosk.admin import AdminDB, StaffSession, StaffUser, csrf_checked
from sync.hq.operators import COOKIE

HqRole = Literal["viewer", "operator"]
ACCOUNT_ROLE: dict[HqRole, str] = {"viewer": "staff", "operator": "supervisor"}
"""The account role in ``operators.db`` of each HQ role."""


def hq_role(user: StaffUser) -> HqRole:
    """The HQ role of an account."""
    return "operator" if user.supervisor else "viewer"


class SignInRequired(Exception):  # noqa: N818 - an HTTP outcome, handled by the app
    """No valid session: pages redirect to ``/login``, JSON answers 401."""

    def __init__(self, api: bool) -> None:
        super().__init__("sign-in required")
        self.api = api


def current_session(request: Request) -> StaffSession:
    """The signed-in operator's session.

    Raises:
        SignInRequired: no cookie, or an unknown or expired session.
    """
    token = request.cookies.get(COOKIE)
    db: AdminDB = request.app.state.operators
    clock: Callable[[], float] = request.app.state.clock
    session = db.session(token, clock()) if token else None
    if session is None:
        raise SignInRequired(api=request.url.path.startswith("/api/") or request.method != "GET")
    return session


Session = Annotated[StaffSession, Depends(current_session)]


def require_operator(session: Session) -> StaffSession:
    """The session, when its role may change things.

    Raises:
        HTTPException: 403 for a viewer.
    """
    if hq_role(session.user) != "operator":
        raise HTTPException(status_code=403, detail="only an HQ operator may do this; viewers can only look")
    return session


def check_csrf(
    session: Annotated[StaffSession, Depends(require_operator)],
    csrf: Annotated[str | None, Form(max_length=128)] = None,
    x_csrf_token: Annotated[str | None, Header(max_length=128)] = None,
) -> StaffSession:
    """An operator's session, when the form field (or ``X-CSRF-Token`` header) carries its token.

    Raises:
        HTTPException: 403 when the token is missing or wrong.
    """
    return csrf_checked(session, csrf, x_csrf_token)


Posted = Annotated[StaffSession, Depends(check_csrf)]
