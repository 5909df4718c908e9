"""The kiosk's sync agent (``kiosk sync run``): a separate, lower-priority process."""

from sync.agent.agent import STEPS, CycleResult, HealthCheck, SyncAgent
from sync.agent.config import (
    AgentConfig,
    AgentState,
    BundleState,
    load_config,
    load_state,
    save_config,
    trusted_root_path,
)
from sync.agent.identity import create_identity, identity_dir
from sync.agent.outbox import Outbox
from sync.agent.rollback import held_versions, roll_back_to
from sync.agent.timing import HealthWindow, PollSchedule

__all__ = [
    "STEPS",
    "AgentConfig",
    "AgentState",
    "BundleState",
    "CycleResult",
    "HealthCheck",
    "HealthWindow",
    "Outbox",
    "PollSchedule",
    "SyncAgent",
    "create_identity",
    "held_versions",
    "identity_dir",
    "load_config",
    "load_state",
    "roll_back_to",
    "save_config",
    "trusted_root_path",
]
