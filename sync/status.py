"""Moved to :mod:`bundles.status`; this name stays for code written against the old layout."""

from bundles import (
    RuntimeReport,
    read_runtime_report,
    request_now_path,
    request_sync_now,
    sync_dir,
    write_runtime_report,
)

__all__ = [
    "RuntimeReport",
    "read_runtime_report",
    "request_now_path",
    "request_sync_now",
    "sync_dir",
    "write_runtime_report",
]
