"""Errors of the admin page, rooted by origin."""

from __future__ import annotations


class AdminError(Exception):
    """Base of every admin page error."""


class AccountError(AdminError):
    """An account cannot be created or changed (bad name, role or password, duplicate)."""


class SignInError(AdminError):
    """Sign-in refused: wrong name or password, locked account, too many attempts."""


class SettingError(AdminError):
    """A staff setting is unknown or outside the bounds HQ allows."""


class UpdateError(AdminError):
    """A sync request or rollback cannot be done."""
