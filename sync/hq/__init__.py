"""HQ: the signed TUF repository, its store and server, staged rollouts, operators and the console."""

from sync.hq.console import ACCOUNT_ROLE
from sync.hq.db import HqDB, hq_db_path, hq_db_url
from sync.hq.localpg import LocalPostgres
from sync.hq.operators import open_operators
from sync.hq.repository import HqRepository, HqSettings, PublishResult, RoleKeys
from sync.hq.rollout import (
    RolloutPlan,
    advance_all,
    advance_every,
    advance_rollout,
    rollback_rollout,
    rollout_status,
    start_rollout,
)
from sync.hq.rollout_lock import RolloutBusyError, rollout_lock
from sync.hq.schema import daily_counts, fleet_reports
from sync.hq.server import create_hq_app

__all__ = [
    "ACCOUNT_ROLE",
    "HqDB",
    "HqRepository",
    "HqSettings",
    "LocalPostgres",
    "PublishResult",
    "RoleKeys",
    "RolloutBusyError",
    "RolloutPlan",
    "advance_all",
    "advance_every",
    "advance_rollout",
    "create_hq_app",
    "daily_counts",
    "fleet_reports",
    "hq_db_path",
    "hq_db_url",
    "open_operators",
    "rollback_rollout",
    "rollout_lock",
    "rollout_status",
    "start_rollout",
]
