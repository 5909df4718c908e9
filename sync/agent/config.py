"""Settings and persistent state of the kiosk's sync agent."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bundles import atomic_write_bytes, sync_dir
from sync.errors import SyncError

STATE_SCHEMA_VERSION = 1


class AgentConfig(BaseModel):
    """How a kiosk reaches HQ and who it is (``<state>/sync/agent.json``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    metadata_url: str = Field(description="Base URL of the TUF metadata, e.g. http://hq/metadata/.")
    targets_url: str = Field(description="Base URL of the bundle archives, e.g. http://hq/targets/.")
    kiosk_id: str = Field(min_length=1, max_length=128, description="This kiosk's id (rollout bucket).")
    branch: str = Field(default="", max_length=128, description="This kiosk's branch code.")
    channel: str = Field(default="stable", pattern=r"^[a-z0-9_-]+$", description="Release channel it follows.")
    report_url: str = Field(default="", description="Where status reports are POSTed; empty: no reports.")
    intake_url: str = Field(
        default="", description="Where labels and daily counts are POSTed; empty: next to report_url (/api/intake)."
    )
    poll_s: float = Field(default=300.0, gt=0, description="Seconds between polls.")
    jitter: float = Field(default=0.2, ge=0, le=1, description="Random share of the poll period.")
    max_backoff_s: float = Field(default=3600.0, gt=0, description="Longest wait while HQ is unreachable.")
    tick_s: float = Field(default=1.0, gt=0, description="How often the loop checks request-now and windows.")
    health_window_s: float = Field(default=60.0, ge=0, description="Watch after activation before confirming.")
    connect_timeout_s: float = Field(default=5.0, gt=0, description="HTTP connect timeout.")
    read_timeout_s: float = Field(default=10.0, gt=0, description="Longest gap between received bytes.")
    total_timeout_s: float = Field(default=600.0, gt=0, description="Longest time for one download.")
    max_unpacked_bytes: int = Field(default=2 << 30, gt=0, description="Bound of an unpacked bundle.")

    @property
    def uplink_url(self) -> str:
        """Where labels and counts go: ``intake_url``, else ``/api/intake`` beside ``report_url``."""
        if self.intake_url or not self.report_url.endswith("/api/report"):
            return self.intake_url
        return self.report_url.removesuffix("/api/report") + "/api/intake"


class BundleState(BaseModel):
    """What the agent knows about one bundle name."""

    model_config = ConfigDict(extra="ignore")

    current: str = Field(default="", description="Version the agent activated last.")
    previous: str = Field(default="", description="Version to roll back to.")
    pending: str = Field(default="", description="Version activated and still in its health window.")
    activated_at: float = Field(default=0.0, description="Wall time (s) the pending version was activated.")
    rejected: list[str] = Field(default_factory=list, description="Versions never to install again.")
    held: list[str] = Field(
        default_factory=list,
        description="Versions staff rolled back from: not reinstalled until HQ publishes another version.",
    )


class AgentState(BaseModel):
    """``<state>/sync/state.json``: the agent's journal, written atomically."""

    model_config = ConfigDict(extra="ignore")

    schema_version: int = Field(default=STATE_SCHEMA_VERSION, description="Format version.")
    bundles: dict[str, BundleState] = Field(default_factory=dict, description="Per bundle name.")
    last_check: str = Field(default="", description="Time of the last successful check.")
    last_error: str = Field(default="", description="Last failure, empty after a good check.")

    def bundle(self, name: str) -> BundleState:
        """The state of ``name``, created on first use."""
        return self.bundles.setdefault(name, BundleState())


def config_path(state_dir: Path) -> Path:
    """Where the agent's settings live."""
    return sync_dir(state_dir) / "agent.json"


def trusted_root_path(state_dir: Path) -> Path:
    """The root metadata the kiosk was provisioned with (TUF bootstrap)."""
    return sync_dir(state_dir) / "trusted-root.json"


def load_config(state_dir: Path) -> AgentConfig:
    """Read ``agent.json``.

    Raises:
        SyncError: the kiosk is not provisioned for sync or the file is invalid.
    """
    path = config_path(state_dir)
    if not path.is_file():
        raise SyncError(f"{state_dir} is not provisioned for sync (run `kiosk sync init` first)")
    try:
        return AgentConfig.model_validate_json(path.read_bytes())
    except ValidationError as err:
        raise SyncError(f"{path}: {err}") from err


def save_config(state_dir: Path, config: AgentConfig) -> None:
    """Write ``agent.json`` atomically."""
    atomic_write_bytes(config_path(state_dir), config.model_dump_json(indent=2).encode())


def load_state(state_dir: Path) -> AgentState:
    """Read the journal; a missing or unreadable one starts empty (the disk is the truth)."""
    path = sync_dir(state_dir) / "state.json"
    try:
        return AgentState.model_validate_json(path.read_bytes())
    except (OSError, ValidationError):
        return AgentState()


def save_state(state_dir: Path, state: AgentState) -> None:
    """Write the journal atomically."""
    atomic_write_bytes(sync_dir(state_dir) / "state.json", state.model_dump_json(indent=2).encode())


@contextmanager
def edit_state(state_dir: Path) -> Iterator[AgentState]:
    """Read the journal under an exclusive lock, let the caller change it, write it back.

    The agent and the admin page (a staff rollback) both change the journal;
    the lock (``flock`` on ``sync/state.lock``) keeps one from losing the
    other's change. Nothing is written when the body raises.
    """
    folder = sync_dir(state_dir)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / "state.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        state = load_state(state_dir)
        yield state
        save_state(state_dir, state)
    finally:
        os.close(fd)  # closing releases the lock
