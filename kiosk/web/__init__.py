"""The kiosk's local customer page (until the avatar screen replaces it)."""

from kiosk.web.app import create_app

__all__ = ["create_app"]
