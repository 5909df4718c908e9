"""The branch staff admin page (FastAPI, server-rendered), mounted under ``/admin``."""

from kiosk.admin.accounts import AdminDB, StaffSession, StaffUser
from kiosk.admin.compliance import ReportError, gather, last_month
from kiosk.admin.compliance_pdf import write_pdf
from kiosk.admin.config import AdminConfig
from kiosk.admin.context import SESSION_COOKIE
from kiosk.admin.deps import csrf_checked
from kiosk.admin.errors import AccountError, AdminError, SettingError, SignInError, UpdateError
from kiosk.admin.mount import mount_admin
from kiosk.admin.overrides import PREFIX, spec
from kiosk.admin.security import AttemptLimiter, new_token, same_token, unsign

__all__ = [
    "PREFIX",
    "SESSION_COOKIE",
    "AccountError",
    "AdminConfig",
    "AdminDB",
    "AdminError",
    "AttemptLimiter",
    "ReportError",
    "SettingError",
    "SignInError",
    "StaffSession",
    "StaffUser",
    "UpdateError",
    "csrf_checked",
    "gather",
    "last_month",
    "mount_admin",
    "new_token",
    "same_token",
    "spec",
    "unsign",
    "write_pdf",
]
