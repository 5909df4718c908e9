"""Putting the kiosk together.

The composition root (``root``: :func:`build_kiosk`), the bundle loaders and the engine reloader
(``loaders``), and the registry of bundle kinds (``kinds``).
"""

from kiosk.assembly.kinds import HealthChecks, LoadOptions, load_checked
from kiosk.assembly.loaders import (
    EngineReloader,
    Health,
    build_engine,
    load_active_policy,
    provision,
    stop_llm,
    wait_for_llm,
)
from kiosk.assembly.root import build_kiosk

__all__ = [
    "EngineReloader",
    "Health",
    "HealthChecks",
    "LoadOptions",
    "build_engine",
    "build_kiosk",
    "load_active_policy",
    "load_checked",
    "provision",
    "stop_llm",
    "wait_for_llm",
]
