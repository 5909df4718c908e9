"""Moved to :mod:`bundles.history`; this name stays for code written against the old layout."""

from bundles import (
    EVENTS,
    SyncEvent,
    record_event,
    sync_history,
)

__all__ = [
    "EVENTS",
    "SyncEvent",
    "record_event",
    "sync_history",
]
