"""Pure security logic of the admin page: lock-out, rate limits, session expiry, signed tokens.

Nothing here reads the clock: callers pass ``now`` (seconds), so the rules
are tested with plain numbers.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import deque
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    """Locks an account after repeated failed sign-ins.

    Args:
        max_failures: Failures in a row that lock the account.
        lock_seconds: How long the lock lasts.
    """

    max_failures: int = 5
    lock_seconds: float = 900.0

    def after_failure(self, failures: int, now: float) -> tuple[int, float | None]:
        """The failure count after one more failure, and the lock's end when it locks."""
        failures += 1
        if failures >= self.max_failures:
            return 0, now + self.lock_seconds
        return failures, None

    @staticmethod
    def locked(locked_until: float | None, now: float) -> bool:
        """True while a lock set to end at ``locked_until`` holds."""
        return locked_until is not None and now < locked_until


@dataclass(slots=True)
class AttemptLimiter:
    """At most ``max_attempts`` per ``window_seconds`` per key (sign-in attempts per client).

    Args:
        max_attempts: Attempts allowed in the window.
        window_seconds: Length of the sliding window.
        max_keys: Keys remembered at most (oldest dropped), so memory stays bounded.
    """

    max_attempts: int = 10
    window_seconds: float = 60.0
    max_keys: int = 10_000
    blocked: int = 0
    """Attempts refused since start: counted, not audited one by one (a flood would push real entries away)."""
    _seen: dict[str, deque[float]] = field(default_factory=dict)

    def allow(self, key: str, now: float) -> bool:
        """Record an attempt for ``key``; False when it is over the limit."""
        times = self._seen.pop(key, None) or deque()
        while times and now - times[0] >= self.window_seconds:
            times.popleft()
        allowed = len(times) < self.max_attempts
        if allowed:
            times.append(now)
        else:
            self.blocked += 1
        self._seen[key] = times
        while len(self._seen) > self.max_keys:
            self._seen.pop(next(iter(self._seen)))
        return allowed


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """When a staff session expires.

    Args:
        idle_seconds: Expires after this long without a request.
        max_seconds: Expires this long after sign-in, however busy.
    """

    idle_seconds: float = 30 * 60.0
    max_seconds: float = 12 * 3600.0

    def expired(self, created: float, last_seen: float, now: float) -> bool:
        """True when a session created at ``created`` and last used at ``last_seen`` is over."""
        return now - last_seen >= self.idle_seconds or now - created >= self.max_seconds


def new_token() -> str:
    """A fresh random token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What the database keeps of a session token (its SHA-256), never the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()


def sign(secret: bytes, value: str) -> str:
    """``value`` with an HMAC-SHA256 signature appended: ``value.signature``."""
    mac = hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()
    return f"{value}.{mac}"


def unsign(secret: bytes, signed: str) -> str | None:
    """The value of a string made by :func:`sign`, or None when the signature is wrong."""
    value, _, mac = signed.rpartition(".")
    if not value or not mac:
        return None
    expected = hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()
    return value if hmac.compare_digest(mac, expected) else None


def same_token(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two tokens; False when either is missing."""
    if not a or not b:
        return False
    return hmac.compare_digest(a.encode(), b.encode())
