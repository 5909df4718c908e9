"""The ``kiosk`` command: one module per command group (``kiosk.cli.main`` holds the root and the kiosk's own)."""

from kiosk.cli.main import app, main

__all__ = ["app", "main"]
