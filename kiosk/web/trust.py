"""The trust boundary of the kiosk's web app: who may talk to it, with what, and how much.

One pure ASGI middleware (:class:`TrustBoundary`) runs before any route of
the customer page, the runtime's ``/api/kiosk`` routes, the avatar and the
admin page:

- ``Host`` must be one the kiosk is served as (DNS rebinding);
- a state-changing request that names a foreign ``Origin`` (or
  ``Sec-Fetch-Site: cross-site``) is refused, and the customer endpoints
  refuse the content types a page may POST cross-origin without asking
  (``text/plain``, forms);
- a body larger than its path's limit is refused with 413, by
  ``Content-Length`` before reading and by counting streamed bytes
  (chunked uploads) while reading, so no upload is held in memory past it;
- the pages the kiosk screen opens set the device cookie when the client is
  the kiosk itself (loopback, no proxy in between) or the URL carries the
  device token (``?device=...``).

The device token itself is checked by :func:`require_device` (customer
endpoints) and :func:`require_viewer` (the avatar: the kiosk screen or a
signed-in staff member), see ``docs/adr/0008-customer-side-trust-boundary.md``.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import json
import secrets
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi import HTTPException, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEVICE_COOKIE = "kiosk_device"
DEVICE_HEADER = "X-Kiosk-Device"
DEVICE_QUERY = "device"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Paths behind the device token (checked by the routes' dependencies).
PROTECTED_PREFIXES = ("/api/", "/avatar/")
# Content types a cross-origin page may POST without a preflight ("simple" requests).
SIMPLE_TYPES = frozenset({"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"})
# The pages the kiosk screen opens: they hand the kiosk its device cookie.
KIOSK_PAGES = frozenset({"/", "/kiosk", "/static/kiosk.html", "/static/index.html"})
_FORWARDED = (b"x-forwarded-for", b"forwarded", b"x-real-ip", b"x-forwarded-host")
_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


class BodyTooLarge(HTTPException):
    """The request body is larger than its path allows (413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=f"the request body may be at most {limit} bytes")


def new_device_token() -> str:
    """A fresh device token (256 bits, URL-safe), made once per process."""
    return secrets.token_urlsafe(32)


def is_loopback(host: str) -> bool:
    """True for a loopback address or ``localhost``."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_wildcard(host: str) -> bool:
    """True for a bind address that listens on every interface (``0.0.0.0``, ``::``, ``""``)."""
    return host.strip("[]") in ("", "0.0.0.0", "::")  # noqa: S104 - recognising it, not binding


def host_allow_list(bind_host: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """The host names the app answers to: loopback, the bind address, ``extra``.

    On a wildcard bind without ``extra`` the machine's own name and its
    addresses are added, so the branch LAN can reach it by them.
    """
    names = {*_LOOPBACK_NAMES, *(h.lower().strip("[]") for h in extra)}
    if is_wildcard(bind_host):
        if not extra:
            hostname = socket.gethostname()
            names.update({hostname.lower(), f"{hostname.lower()}.local"})
            with contextlib.suppress(OSError):
                names.update(str(info[4][0]) for info in socket.getaddrinfo(hostname, None))
    else:
        names.add(bind_host.lower().strip("[]"))
    return frozenset(names)


def _hostname(netloc: str) -> str:
    """``host`` of ``host:port`` / ``[v6]:port`` (lower case)."""
    try:
        return (urlsplit(f"//{netloc}").hostname or "").lower()
    except ValueError:
        return ""


@dataclass(frozen=True, slots=True)
class BoundaryPolicy:
    """What :class:`TrustBoundary` enforces.

    Args:
        device_token: The kiosk screen's token (this process's).
        allowed_hosts: Host names the app answers to (``Host`` header, no port).
        max_body_bytes: Largest request body anywhere, unless ``upload_limits`` says otherwise.
        upload_limits: Larger limits for some exact paths (the WAV upload).
        secure_cookie: Mark the device cookie ``Secure`` (served over TLS).
        response_headers: Added to every response (security headers).
    """

    device_token: str
    allowed_hosts: frozenset[str]
    max_body_bytes: int = 64 * 1024
    upload_limits: dict[str, int] = field(default_factory=dict)
    secure_cookie: bool = False
    response_headers: tuple[tuple[bytes, bytes], ...] = ()

    def body_limit(self, path: str) -> int:
        """The largest body accepted on ``path``."""
        return self.upload_limits.get(path, self.max_body_bytes)

    def token_ok(self, token: str | None) -> bool:
        """Constant-time check of a presented device token."""
        return bool(token) and hmac.compare_digest(str(token).encode(), self.device_token.encode())


async def _refuse(send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class TrustBoundary:
    """ASGI middleware enforcing :class:`BoundaryPolicy` before any route runs."""

    def __init__(self, app: ASGIApp, policy: BoundaryPolicy) -> None:
        """Wrap ``app``."""
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the request, then pass it on with a counting ``receive``."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: dict[bytes, bytes] = {}
        for key, value in scope.get("headers", []):
            headers.setdefault(key.lower(), value)
        problem = self._check(scope, headers)
        if problem is not None:
            await _refuse(send, *problem)
            return
        path = scope.get("path", "")
        limit = self.policy.body_limit(path)
        length = headers.get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                await _refuse(send, 400, "bad Content-Length")
                return
            if declared > limit:
                await _refuse(send, 413, f"the request body may be at most {limit} bytes")
                return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        extra = list(self.policy.response_headers)
        if scope.get("method") == "GET" and path in KIOSK_PAGES and self._grants(scope, headers):
            extra.append((b"set-cookie", self._cookie(scope.get("scheme") == "https")))
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                names = {k.lower() for k, _ in extra if k != b"set-cookie"}
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                if received > limit:  # the body was cut off: close, so the rest of it is never read
                    kept = [(k, v) for k, v in kept if k.lower() != b"connection"] + [(b"connection", b"close")]
                message = {**message, "headers": [*kept, *extra]}
            await send(message)

        try:
            await self.app(scope, counting_receive, sending)
        except BodyTooLarge:
            if started:
                raise
            await _refuse(send, 413, f"the request body may be at most {limit} bytes")

    def _check(self, scope: Scope, headers: dict[bytes, bytes]) -> tuple[int, str] | None:
        host = headers.get(b"host", b"").decode("latin-1")
        if _hostname(host) not in self.policy.allowed_hosts:
            return 400, "unknown host"
        method = scope.get("method", "GET")
        if method in SAFE_METHODS:
            return None
        site = headers.get(b"sec-fetch-site", b"")
        if site in (b"cross-site", b"same-site"):
            return 403, "cross-origin request refused"
        origin = headers.get(b"origin")
        # A browser's own form POST under "Referrer-Policy: no-referrer" says "Origin: null" and
        # "Sec-Fetch-Site: same-origin"; a null origin from anywhere else (a sandboxed frame) is refused.
        same_null = origin == b"null" and site == b"same-origin"
        if origin is not None and not same_null and _hostname_port(origin.decode("latin-1")) != host.lower():
            return 403, "cross-origin request refused"
        path: str = scope.get("path", "")
        if path.startswith(PROTECTED_PREFIXES):
            ctype = headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip().lower()
            if ctype in SIMPLE_TYPES:
                return 415, "send JSON (application/json) or a WAV file (audio/wav)"
        return None

    def _grants(self, scope: Scope, headers: dict[bytes, bytes]) -> bool:
        """True when this page request comes from the kiosk itself or carries the device token."""
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if self.policy.token_ok((query.get(DEVICE_QUERY) or [None])[0]):
            return True
        client = scope.get("client")
        direct = not any(name in headers for name in _FORWARDED)
        return direct and client is not None and is_loopback(str(client[0]))

    def _cookie(self, tls: bool) -> bytes:
        cookie: SimpleCookie = SimpleCookie()
        cookie[DEVICE_COOKIE] = self.policy.device_token
        morsel = cookie[DEVICE_COOKIE]
        morsel["path"] = "/"
        morsel["httponly"] = True
        morsel["samesite"] = "Strict"
        if tls or self.policy.secure_cookie:
            morsel["secure"] = True
        return morsel.OutputString().encode("latin-1")


def _hostname_port(origin: str) -> str:
    """``host[:port]`` of an Origin (``null`` and garbage give ``""``)."""
    try:
        parts = urlsplit(origin)
    except ValueError:
        return ""
    return parts.netloc.lower() if parts.scheme in ("http", "https") else ""


def device_presented(request: Request) -> bool:
    """True when the request carries this process's device token (header or cookie)."""
    policy: BoundaryPolicy | None = getattr(request.app.state, "boundary", None)
    if policy is None:  # an app without a boundary has no device: nobody passes
        return False
    return policy.token_ok(request.headers.get(DEVICE_HEADER)) or policy.token_ok(request.cookies.get(DEVICE_COOKIE))


def require_device(request: Request) -> None:
    """Dependency of the customer endpoints: only the kiosk screen (its device token) may use them.

    Raises:
        HTTPException: 401 without the token.
    """
    if not device_presented(request):
        raise HTTPException(status_code=401, detail="this endpoint is for the kiosk screen only")


def require_viewer(request: Request) -> None:
    """Dependency of the avatar's frames: the kiosk screen, or a signed-in staff member (the live page).

    Raises:
        HTTPException: 401 for anyone else.
    """
    if device_presented(request) or _staff_signed_in(request):
        return
    raise HTTPException(status_code=401, detail="the kiosk screen or a signed-in staff member only")


def _staff_signed_in(request: Request) -> bool:
    from kiosk.admin import SESSION_COOKIE, unsign

    ctx: Any = getattr(request.app.state, "admin", None)
    cookie = request.cookies.get(SESSION_COOKIE)
    if ctx is None or ctx.db is None or not cookie:
        return False
    token = unsign(ctx.secret, cookie)
    return token is not None and ctx.db.session(token, ctx.clock()) is not None
