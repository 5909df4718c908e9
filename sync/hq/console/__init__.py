"""The HQ console served by ``kiosk hq serve``: fleet, rollout, label intake, KPIs and fairness, behind sign-in."""

from sync.hq.console.auth import ACCOUNT_ROLE, HqRole, hq_role
from sync.hq.console.fleetview import kiosk_rows, summary
from sync.hq.console.kpis import DIMENSIONS, fairness, kpi_rows, totals_query
from sync.hq.console.routes import ConsoleSettings, add_console_routes

__all__ = [
    "ACCOUNT_ROLE",
    "DIMENSIONS",
    "ConsoleSettings",
    "HqRole",
    "add_console_routes",
    "fairness",
    "hq_role",
    "kiosk_rows",
    "kpi_rows",
    "summary",
    "totals_query",
]
