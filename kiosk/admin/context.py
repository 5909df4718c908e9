"""What the admin routes share: database handles, templates, the cookie secret, the clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bundles import atomic_write_bytes
from kiosk.admin.config import AdminConfig
from kiosk.admin.security import AttemptLimiter, new_token
from kiosk.config import Settings

if TYPE_CHECKING:
    from fastapi.templating import Jinja2Templates

    from kiosk.admin.accounts import AdminDB
    from kiosk.storage import Store

PACKAGE = Path(__file__).resolve().parent
TEMPLATES_DIR = PACKAGE / "templates"
STATIC_DIR = PACKAGE / "static"
SESSION_COOKIE = "kiosk_admin"
LOGIN_COOKIE = "kiosk_admin_login"


def load_secret(state_dir: Path) -> bytes:
    """The key that signs admin cookies, made once per kiosk (``<state>/admin/secret``, mode 0600)."""
    path = state_dir / "admin" / "secret"
    if path.is_file():
        return path.read_bytes().strip()
    atomic_write_bytes(path, new_token().encode())
    return path.read_bytes().strip()


@dataclass
class AdminContext:
    """The admin page's state on ``app.state.admin`` (handles are opened in the lifespan)."""

    settings: Settings
    config: AdminConfig
    templates: Jinja2Templates
    clock: Callable[[], float] = time.time
    secret: bytes = b""
    db: AdminDB | None = None
    store: Store | None = None
    limiter: AttemptLimiter = field(default_factory=AttemptLimiter)
    owns_store: bool = False

    def open(self, store: Store | None = None) -> None:
        """Open the admin tables, and use ``store``: the kiosk's, when the page runs inside the kiosk.

        Without one (the page mounted on an app that built no kiosk) it opens its own
        store on ``settings.db_path`` and closes it in :meth:`close`; the kiosk's store is
        closed by the kiosk (``Kiosk.close``), after the page.
        """
        from kiosk.admin.accounts import AdminDB
        from kiosk.admin.security import LockoutPolicy, SessionPolicy
        from kiosk.storage import Store

        cfg = self.config
        self.secret = load_secret(self.settings.state_dir)
        self.owns_store = store is None
        self.store = Store(self.settings.db_path) if store is None else store
        self.db = AdminDB(
            self.settings.db_path,
            LockoutPolicy(cfg.max_failures, cfg.lockout_minutes * 60),
            SessionPolicy(cfg.session_idle_minutes * 60, cfg.session_max_hours * 3600),
        )
        self.limiter = AttemptLimiter(max_attempts=cfg.attempts_per_minute, window_seconds=60.0)

    def close(self) -> None:
        """Close what :meth:`open` opened."""
        if self.db is not None:
            self.db.close()
        if self.store is not None and self.owns_store:
            self.store.close()
