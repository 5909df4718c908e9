"""The branch staff admin page (FastAPI, server-rendered), mounted under ``/admin``."""

from kiosk.admin.config import AdminConfig
from kiosk.admin.errors import AccountError, AdminError, SettingError, SignInError, UpdateError
from kiosk.admin.mount import mount_admin

__all__ = ["AccountError", "AdminConfig", "AdminError", "SettingError", "SignInError", "UpdateError", "mount_admin"]
