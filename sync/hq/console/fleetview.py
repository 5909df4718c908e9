"""The fleet as the console shows it: each kiosk online or not, its health and versions, and a summary.

Pure: the rows come from :meth:`sync.hq.db.HqDB.fleet`, the time is passed in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class KioskRow(BaseModel):
    """One kiosk's latest status report and whether it is still reporting."""

    model_config = ConfigDict(frozen=True)

    kiosk_id: str = Field(description="The kiosk's id.")
    branch: str = Field(description="Its branch, as it reported.")
    versions: dict[str, str] = Field(description="Active version per bundle.")
    healthy: bool = Field(description="Whether its last sync cycle went well.")
    last_error: str = Field(description="Its last sync error.")
    rejected: dict[str, list[str]] = Field(description="Versions it rejected or rolled back, per bundle.")
    last_seen: str = Field(description="When HQ took its last report (ISO 8601, UTC).")
    online: bool = Field(description="Reported within the offline threshold.")
    silent_s: float | None = Field(description="Seconds since its last report (None: unreadable time).")


class FleetSummary(BaseModel):
    """How many kiosks are online, offline and unhealthy, and how many run each bundle version."""

    model_config = ConfigDict(frozen=True)

    kiosks: int
    online: int
    offline: int
    unhealthy: int
    versions: dict[str, dict[str, int]] = Field(description="Bundle -> version -> kiosks running it.")


def _silent(last_seen: str, now: datetime) -> float | None:
    try:
        then = datetime.fromisoformat(last_seen)
    except ValueError:
        return None
    if then.tzinfo is None:
        return None
    return max(0.0, (now - then).total_seconds())


def kiosk_rows(fleet: Iterable[Mapping[str, Any]], now: datetime, offline_after_s: float) -> list[KioskRow]:
    """The fleet's rows with ``online`` set: a report within ``offline_after_s`` of ``now`` (aware)."""
    rows = []
    for r in fleet:
        silent = _silent(str(r["last_seen"]), now)
        online = silent is not None and silent <= offline_after_s
        rows.append(KioskRow.model_validate({**r, "online": online, "silent_s": silent}))
    return rows


def summary(rows: Iterable[KioskRow]) -> FleetSummary:
    """Counts over the rows of :func:`kiosk_rows`."""
    rows = list(rows)
    versions: dict[str, Counter[str]] = {}
    for row in rows:
        for bundle, version in row.versions.items():
            versions.setdefault(bundle, Counter())[version] += 1
    return FleetSummary(
        kiosks=len(rows),
        online=sum(r.online for r in rows),
        offline=sum(not r.online for r in rows),
        unhealthy=sum(not r.healthy for r in rows),
        versions={b: dict(sorted(c.items())) for b, c in sorted(versions.items())},
    )


def silent_for(seconds: float | None) -> str:
    """How long a kiosk has been silent, for people: ``40 s``, ``12 min``, ``3 h 5 min``, ``2 d 4 h``."""
    if seconds is None:
        return "?"
    s = int(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"
