"""File contracts between the sync agent, the kiosk runtime and the admin page.

- ``<state>/sync/request-now``: the admin page creates it; the agent syncs at
  its next tick and deletes it.
- ``<state>/sync/runtime/<name>.json``: the runtime reports whether it could
  load a bundle version; the agent watches it during the health window.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from bundles.manifest import atomic_write_bytes


def sync_dir(state_dir: Path) -> Path:
    """The agent's folder in the state directory."""
    return state_dir / "sync"


def request_now_path(state_dir: Path) -> Path:
    """Create this file to ask the agent to sync at once."""
    return sync_dir(state_dir) / "request-now"


def request_sync_now(state_dir: Path) -> None:
    """Ask the running agent to sync at its next tick."""
    atomic_write_bytes(request_now_path(state_dir), datetime.now(UTC).isoformat().encode())


@dataclass(frozen=True)
class RuntimeReport:
    """What the runtime found when it loaded a bundle."""

    name: str
    version: str
    ok: bool
    detail: str = ""
    at: str = ""


def write_runtime_report(state_dir: Path, name: str, version: str, ok: bool, detail: str = "") -> None:
    """Record whether the runtime loaded ``name`` ``version`` (atomic)."""
    report = RuntimeReport(name, version, ok, detail[:2000], datetime.now(UTC).isoformat(timespec="seconds"))
    atomic_write_bytes(sync_dir(state_dir) / "runtime" / f"{name}.json", json.dumps(asdict(report)).encode())


def read_runtime_report(state_dir: Path, name: str) -> RuntimeReport | None:
    """The runtime's latest report on ``name``, or None (missing or unreadable)."""
    path = sync_dir(state_dir) / "runtime" / f"{name}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return RuntimeReport(**data)
    except (OSError, ValueError, TypeError):
        return None
