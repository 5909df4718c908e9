"""The kiosk's sync agent (``kiosk sync run``): a separate, lower-priority process."""

from sync.agent.agent import STEPS, CycleResult, HealthCheck, SyncAgent
from sync.agent.config import AgentConfig, AgentState, BundleState, load_config, save_config, trusted_root_path
from sync.agent.timing import HealthWindow, PollSchedule

__all__ = [
    "STEPS",
    "AgentConfig",
    "AgentState",
    "BundleState",
    "CycleResult",
    "HealthCheck",
    "HealthWindow",
    "PollSchedule",
    "SyncAgent",
    "load_config",
    "save_config",
    "trusted_root_path",
]
