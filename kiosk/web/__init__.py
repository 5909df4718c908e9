"""The kiosk's local customer page (until the avatar screen replaces it)."""

from kiosk.web.app import create_app
from kiosk.web.serving import serve
from kiosk.web.tls import ensure_self_signed
from kiosk.web.trust import host_allow_list, is_loopback

__all__ = [
    "create_app",
    "ensure_self_signed",
    "host_allow_list",
    "is_loopback",
    "serve",
]
