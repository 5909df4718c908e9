"""What every ``kiosk`` command group prints: JSON lines on stdout, and a clear failure on stderr with exit status 1.

The contract is ``shared/spec/cli.md``. It lives here, in the lowest layer that
holds command groups, so HQ's commands (``sync/hq_cli/``) and the kiosk's
(``kiosk/cli/``) share it without ``sync`` importing upwards from ``kiosk``.
"""

from __future__ import annotations

import json
from typing import Any

import typer


def fail(message: str) -> typer.Exit:
    """Print ``kiosk: message`` on stderr; the exit (status 1) for the caller to raise."""
    typer.echo(f"kiosk: {message}", err=True)
    return typer.Exit(1)


def print_json(obj: Any) -> None:
    """One JSON line on stdout (non-ASCII kept as written)."""
    typer.echo(json.dumps(obj, ensure_ascii=False))
