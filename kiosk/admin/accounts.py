"""The admin page's own tables in ``kiosk.db``: staff accounts, sessions, audit log, review labels.

Passwords are hashed with argon2 (argon2-cffi); session tokens are stored
as their SHA-256 only. Everything written here that could hold customer
text goes through :func:`kiosk.privacy.masking.mask_pii` first.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from kiosk.admin.errors import AccountError, SignInError
from kiosk.admin.security import LockoutPolicy, SessionPolicy, new_token, token_digest
from kiosk.intents import INTENTS, LANGS
from kiosk.privacy import mask_pii
from kiosk.storage import LockedSqlite
from statedb import ensure_schema

Role = Literal["staff", "supervisor"]
ROLES: tuple[Role, ...] = ("staff", "supervisor")
MIN_PASSWORD = 10
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,31}$")


@dataclass(frozen=True, slots=True)
class StaffUser:
    """A signed-in staff member."""

    username: str
    role: Role

    @property
    def supervisor(self) -> bool:
        """True for supervisors."""
        return self.role == "supervisor"


@dataclass(frozen=True, slots=True)
class StaffSession:
    """A live session: the user and the form token (CSRF) of the session."""

    user: StaffUser
    csrf: str


_WRONG = "wrong user name or password"
_LOCKED = "too many failed sign-ins for this name from this device; try again later"
_MAX_TRACKED = 10_000  # (client, name) pairs with recent failures kept in memory


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class AdminDB(LockedSqlite):
    """Thread-safe access to the admin tables.

    Args:
        path: The kiosk database (``kiosk.db``); the admin tables are added when missing.
        lockout: When repeated failures lock an account.
        sessions: When sessions expire.
    """

    def __init__(self, path: Path, lockout: LockoutPolicy | None = None, sessions: SessionPolicy | None = None) -> None:
        from argon2 import PasswordHasher

        path.parent.mkdir(parents=True, exist_ok=True)
        self._hasher = PasswordHasher()
        self._dummy_hash = self._hasher.hash(new_token())
        self.lockout = lockout or LockoutPolicy()
        # (client, name) -> (failures in a row, lock end): per client, so nobody locks staff out from elsewhere.
        self._failures: dict[tuple[str, str], tuple[int, float | None]] = {}
        self.sessions = sessions or SessionPolicy()
        self._connect(path)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=10000")
        ensure_schema(self._db, str(path))  # raises SchemaError for a newer kiosk.db

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        """Rows of a read-only query as dicts (for the admin pages' reports)."""
        with self._lock:
            return [dict(r) for r in self._db.execute(sql, args).fetchall()]

    def has_table(self, name: str) -> bool:
        """True when the database has a table of that name (e.g. the sync agent's ``sync_events``)."""
        return bool(self.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)))

    # -- accounts -------------------------------------------------------------

    def create_user(self, username: str, password: str, role: str) -> StaffUser:
        """Create a staff account.

        Raises:
            AccountError: a bad name, an unknown role, a short password, or the name is taken.
        """
        if not _USERNAME.fullmatch(username):
            raise AccountError("user name: 2-32 characters, lower-case letters, digits, '_', '.', '-'")
        if role not in ROLES:
            raise AccountError(f"role must be one of {', '.join(ROLES)}")
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"password must have at least {MIN_PASSWORD} characters")
        hashed = self._hasher.hash(password)
        try:
            with self._tx() as db:
                db.execute(
                    "INSERT INTO admin_users (username, role, password_hash, created_at) VALUES (?, ?, ?, ?)",
                    (username, role, hashed, _now_iso()),
                )
        except sqlite3.IntegrityError as err:
            raise AccountError(f"user {username!r} already exists") from err
        return StaffUser(username, role)

    def users(self) -> list[StaffUser]:
        """Every account."""
        return [StaffUser(r["username"], r["role"]) for r in self.query("SELECT * FROM admin_users ORDER BY username")]

    def authenticate(self, username: str, password: str, now: float, client: str = "-") -> StaffUser:
        """Check a name and password; failures count towards the lock-out of this client and name.

        The lock-out is per client and name, and names that do not exist lock
        the same way as real ones: a stranger on another host cannot lock staff
        out, and "locked" tells nobody which names are real.

        Raises:
            SignInError: wrong name or password, or this client is locked out of the name.
        """
        from argon2.exceptions import InvalidHashError, VerificationError

        key = (client, username)
        failures, locked_until = self._failures.get(key, (0, None))
        if self.lockout.locked(locked_until, now):
            raise SignInError(_LOCKED)
        rows = self.query("SELECT * FROM admin_users WHERE username = ?", (username,))
        try:
            if not rows:
                # Same work as a real check, so a wrong name is not faster than a wrong password.
                self._hasher.verify(self._dummy_hash, password)
            else:
                self._hasher.verify(rows[0]["password_hash"], password)
        except (VerificationError, InvalidHashError) as err:
            failures, locked_until = self.lockout.after_failure(failures, now)
            if len(self._failures) >= _MAX_TRACKED and key not in self._failures:
                self._failures.pop(next(iter(self._failures)))  # oldest first: the table stays bounded
            self._failures[key] = (failures, locked_until)
            raise SignInError(_LOCKED if locked_until is not None else _WRONG) from err
        if not rows:  # the dummy hash never verifies; kept for the type checker
            raise SignInError(_WRONG)
        self._failures.pop(key, None)
        return StaffUser(rows[0]["username"], rows[0]["role"])

    # -- sessions -------------------------------------------------------------

    def open_session(self, user: StaffUser, now: float) -> tuple[str, str]:
        """Start a session; returns the session token (for the cookie) and its CSRF token."""
        token, csrf = new_token(), new_token()
        with self._tx() as db:
            db.execute(
                "INSERT INTO admin_sessions (digest, username, csrf, created, last_seen) VALUES (?, ?, ?, ?, ?)",
                (token_digest(token), user.username, csrf, now, now),
            )
        return token, csrf

    def session(self, token: str, now: float) -> StaffSession | None:
        """The live session of a token (and mark it used), or None when unknown or expired."""
        digest = token_digest(token)
        rows = self.query(
            "SELECT s.*, u.role FROM admin_sessions s JOIN admin_users u USING (username) WHERE s.digest = ?", (digest,)
        )
        if not rows:
            return None
        row = rows[0]
        with self._tx() as db:
            if self.sessions.expired(row["created"], row["last_seen"], now):
                db.execute("DELETE FROM admin_sessions WHERE digest = ?", (digest,))
                return None
            db.execute("UPDATE admin_sessions SET last_seen = ? WHERE digest = ?", (now, digest))
        return StaffSession(StaffUser(row["username"], row["role"]), row["csrf"])

    def close_session(self, token: str) -> None:
        """End a session (sign out)."""
        with self._tx() as db:
            db.execute("DELETE FROM admin_sessions WHERE digest = ?", (token_digest(token),))

    # -- audit log --------------------------------------------------------------

    def audit(self, username: str, action: str, target: str, detail: dict[str, Any] | None = None) -> None:
        """Record who did what, when (detail masked)."""
        text = mask_pii(json.dumps(detail or {}, ensure_ascii=False, sort_keys=True))
        with self._tx() as db:
            db.execute(
                "INSERT INTO audit_log (at, username, action, target, detail) VALUES (?, ?, ?, ?, ?)",
                (_now_iso(), username, action, target, text),
            )

    def audit_log(self, limit: int = 200, action: str | None = None) -> list[dict[str, Any]]:
        """Recent audit entries, newest first."""
        if action:
            return self.query("SELECT * FROM audit_log WHERE action = ? ORDER BY id DESC LIMIT ?", (action, limit))
        return self.query("SELECT * FROM audit_log ORDER BY id DESC LIMIT ?", (limit,))

    # -- review labels ------------------------------------------------------------

    def review_queue(self, below: float, limit: int = 100) -> list[dict[str, Any]]:
        """Typed turns the kiosk was unsure about (fallback or low confidence), not yet labelled."""
        return self.query(
            "SELECT t.* FROM turns t LEFT JOIN review_labels l ON l.turn_id = t.id"
            " WHERE l.turn_id IS NULL AND t.source != 'button' AND (t.stage = 'fallback' OR t.confidence < ?)"
            " ORDER BY t.id DESC LIMIT ?",
            (below, limit),
        )

    def label(self, turn_id: int, intent: str, username: str, known: Collection[str] = INTENTS) -> dict[str, Any]:
        """Record the right intent of a turn (its masked text and language are copied).

        Args:
            turn_id: The turn.
            intent: The intent staff chose.
            username: Who labelled it.
            known: The intents one can choose: the built-in core, or the active policy's
                (which may declare a new service the model does not know yet).

        Raises:
            ValueError: an unknown intent or turn.
        """
        if intent not in known:
            raise ValueError(f"unknown intent {intent!r}")
        rows = self.query("SELECT id, text, lang FROM turns WHERE id = ?", (turn_id,))
        if not rows:
            raise ValueError(f"turn {turn_id} does not exist")
        row = rows[0]
        text = mask_pii(row["text"])
        with self._tx() as db:
            db.execute(
                "INSERT INTO review_labels (turn_id, text, lang, intent, labelled_by, at) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(turn_id) DO UPDATE SET intent = excluded.intent, labelled_by = excluded.labelled_by,"
                " at = excluded.at",
                (turn_id, text, row["lang"], intent, username, _now_iso()),
            )
        return {"turn_id": turn_id, "text": text, "lang": row["lang"], "intent": intent}

    def labels(self) -> list[dict[str, Any]]:
        """Every label as training data: masked text, language, intent (oldest first)."""
        rows = self.query("SELECT text, lang, intent FROM review_labels ORDER BY turn_id")
        return [
            {"text": mask_pii(r["text"]), "lang": r["lang"] if r["lang"] in LANGS else "zh", "intent": r["intent"]}
            for r in rows
        ]
