"""The HQ console served by ``kiosk hq serve``: fleet, rollout, label intake, KPIs and fairness, behind sign-in."""

from sync.hq.console.auth import ACCOUNT_ROLE, HqRole, hq_role
from sync.hq.console.routes import ConsoleSettings, add_console_routes

__all__ = ["ACCOUNT_ROLE", "ConsoleSettings", "HqRole", "add_console_routes", "hq_role"]
