"""The pure half of a staged rollout: its plan, each kiosk's health on it, and the controller's verdict.

:func:`judge` decides from the given time and kiosks only; :mod:`sync.hq.rollout` reads them from
HQ's store and acts. Why: ``docs/adr/0019-staged-rollout.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["DEFAULT_STAGES", "Action", "KioskHealth", "RolloutPlan", "Verdict", "judge", "kiosk_health"]

DEFAULT_STAGES = (5, 25, 100)
Action = Literal["advance", "complete", "halt", "wait"]


class RolloutPlan(BaseModel):
    """How a rollout widens and when it stops (stored with it)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stages: tuple[int, ...] = Field(default=DEFAULT_STAGES, min_length=1, description="Fleet share per stage, %.")
    branches: tuple[str, ...] = Field(default=(), description="Canary branches: they get it from the first stage.")
    max_failure_rate: float = Field(
        default=0.2, ge=0, le=1, description="Halt when failed / (on new + failed) kiosks exceeds this."
    )
    min_reports: int = Field(default=1, ge=0, description="Healthy reports on the new version per stage to widen.")
    min_soak_s: float = Field(
        default=120.0,
        ge=0,
        description="Least time a stage runs before widening, seconds: at least the agents' health window (60 s),"
        " since a kiosk reports a new version healthy as soon as it activates.",
    )

    @field_validator("stages")
    @classmethod
    def _widening(cls, stages: tuple[int, ...]) -> tuple[int, ...]:
        if any(not 0 <= s <= 100 for s in stages) or list(stages) != sorted(set(stages)) or stages[-1] != 100:
            raise ValueError("stages must rise strictly within 0-100 and end at 100")
        return stages


@dataclass(frozen=True, slots=True)
class KioskHealth:
    """One reporting kiosk as a rollout sees it."""

    kiosk_id: str
    branch: str
    version: str  # the active version of the rollout's bundle ('' when none)
    on_new: bool
    failed: bool
    detail: str
    last_seen: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the controller does with a running rollout now."""

    action: Action
    reason: str


def kiosk_health(fleet: Sequence[Mapping[str, Any]], bundles: Mapping[str, str], name: str) -> list[KioskHealth]:
    """Each reporting kiosk's state for a rollout of ``bundles`` (name -> new version) led by ``name``.

    A kiosk failed when it rejected or rolled back one of the new versions (its
    signed report lists them), or when it runs the new version and reports unhealthy.
    """
    rows = []
    for report in fleet:
        versions: Mapping[str, str] = report["versions"]
        rejected: Mapping[str, list[str]] = report["rejected"]
        on_new = versions.get(name) == bundles[name]
        refused = [f"{b} {v}" for b, v in bundles.items() if v in rejected.get(b, [])]
        failed = bool(refused) or (on_new and not report["healthy"])
        detail = f"rejected or rolled back {', '.join(refused)}" if refused else ""
        if on_new and not report["healthy"]:
            detail = "; ".join(x for x in (detail, f"unhealthy: {report['last_error'] or 'no detail'}") if x)
        rows.append(
            KioskHealth(
                kiosk_id=report["kiosk_id"],
                branch=report["branch"],
                version=versions.get(name, ""),
                on_new=on_new,
                failed=failed,
                detail=detail,
                last_seen=report["last_seen"],
            )
        )
    return rows


def judge(
    plan: RolloutPlan, stage: int, stage_started_at: str, now: datetime, kiosks: Sequence[KioskHealth]
) -> Verdict:
    """The controller's decision for a running rollout (pure: the time and the kiosks are given)."""
    failed = [k for k in kiosks if k.failed]
    counted = [k for k in kiosks if k.on_new or k.failed]
    rate = len(failed) / len(counted) if counted else 0.0
    if failed and rate > plan.max_failure_rate:
        worst = "; ".join(f"{k.kiosk_id}: {k.detail}" for k in failed[:5])
        return Verdict(
            "halt",
            f"failure rate {len(failed)}/{len(counted)} = {rate:.0%} over {plan.max_failure_rate:.0%} "
            f"at stage {plan.stages[stage]}% ({worst})",
        )
    fresh = [k for k in kiosks if k.on_new and not k.failed and k.last_seen >= stage_started_at]
    if len(fresh) < plan.min_reports:
        return Verdict("wait", f"{len(fresh)} of {plan.min_reports} healthy report(s) on the new version this stage")
    soaked = (now - datetime.fromisoformat(stage_started_at)).total_seconds()
    if soaked < plan.min_soak_s:
        return Verdict("wait", f"stage soaked {soaked:.0f} of {plan.min_soak_s:.0f} s")
    if stage + 1 >= len(plan.stages):
        return Verdict("complete", f"healthy at {plan.stages[stage]}%")
    return Verdict("advance", f"healthy at {plan.stages[stage]}%: widening to {plan.stages[stage + 1]}%")
