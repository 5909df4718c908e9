"""Staged rollouts at HQ: a published bundle widens stage by stage only while its canaries report healthy.

A rollout publishes one bundle (and companions that must travel with it,
e.g. the policy that answers a new intent) at its first stage's share of
the fleet and at its canary branches. :func:`advance_rollout` is the
controller step: it reads the kiosks' signed status reports from HQ's store
and re-signs the targets with the next share only when the kiosks on the new
version are healthy and the stage has soaked (enough fresh reports, enough
time); a failure rate over the threshold halts it (state ``halted``, reason
recorded). :func:`rollback_rollout` withdraws the new version from the whole
fleet in one publish: the target it replaced comes back and the new version
is listed as revoked, so every agent goes back to its previous version.

The state lives in the ``rollouts`` table (schema version 3);
:func:`rollout_status` is the read API for the CLI and the HQ console.
Why: ``docs/adr/0019-staged-rollout.md``.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select

from bundles import read_manifest
from sync.errors import BundleError, HqError
from sync.hq.db import HqDB
from sync.hq.repository import HqRepository
from sync.hq.schema import rollouts

__all__ = [
    "DEFAULT_STAGES",
    "KioskHealth",
    "RolloutPlan",
    "RolloutStatus",
    "Verdict",
    "advance_all",
    "advance_every",
    "advance_rollout",
    "judge",
    "kiosk_health",
    "rollback_rollout",
    "rollout_status",
    "start_rollout",
]

_LOG = logging.getLogger(__name__)
DEFAULT_STAGES = (5, 25, 100)
RolloutState = Literal["running", "halted", "complete", "rolled_back", "superseded"]
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
class RolloutStatus:
    """A rollout and the fleet's health on it (plain data for the CLI and the HQ console)."""

    id: int
    name: str
    channel: str
    version: str
    bundles: tuple[str, ...]  # "name=version" of every bundle it publishes
    stages: tuple[int, ...]
    stage: int  # index into stages
    percent: int
    branches: tuple[str, ...]
    state: RolloutState
    reason: str
    max_failure_rate: float
    min_reports: int
    min_soak_s: float
    started_at: str
    stage_started_at: str
    updated_at: str
    kiosks_new: int
    kiosks_old: int
    kiosks_failed: int
    failure_rate: float
    fresh_reports: int  # healthy kiosks on the new version that reported since the stage began
    kiosks: tuple[KioskHealth, ...]


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the controller does with a running rollout now."""

    action: Action
    reason: str


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


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


# -- the store ------------------------------------------------------------------------------


def _latest(db: HqDB, name: str | None, channel: str | None) -> list[dict[str, Any]]:
    query = select(rollouts).order_by(rollouts.c.id.desc())
    if name is not None:
        query = query.where(rollouts.c.name == name)
    if channel is not None:
        query = query.where(rollouts.c.channel == channel)
    seen: set[tuple[str, str]] = set()
    rows = []
    for row in db.read(query):
        if (row["name"], row["channel"]) not in seen:
            seen.add((row["name"], row["channel"]))
            rows.append(row)
    return rows


def _status(row: Mapping[str, Any], fleet: Sequence[Mapping[str, Any]]) -> RolloutStatus:
    plan = RolloutPlan.model_validate_json(row["plan"])
    bundles = json.loads(row["bundles"])
    versions = {b["name"]: b["version"] for b in bundles}
    kiosks = kiosk_health(fleet, versions, row["name"])
    failed = sum(k.failed for k in kiosks)
    new = sum(k.on_new and not k.failed for k in kiosks)
    counted = sum(k.on_new or k.failed for k in kiosks)
    fresh = sum(k.on_new and not k.failed and k.last_seen >= row["stage_started_at"] for k in kiosks)
    return RolloutStatus(
        id=row["id"],
        name=row["name"],
        channel=row["channel"],
        version=row["version"],
        bundles=tuple(f"{b['name']}={b['version']}" for b in bundles),
        stages=plan.stages,
        stage=row["stage"],
        percent=plan.stages[row["stage"]],
        branches=plan.branches,
        state=row["state"],
        reason=row["reason"],
        max_failure_rate=plan.max_failure_rate,
        min_reports=plan.min_reports,
        min_soak_s=plan.min_soak_s,
        started_at=row["started_at"],
        stage_started_at=row["stage_started_at"],
        updated_at=row["updated_at"],
        kiosks_new=new,
        kiosks_old=len(kiosks) - new - failed,
        kiosks_failed=failed,
        failure_rate=failed / counted if counted else 0.0,
        fresh_reports=fresh,
        kiosks=tuple(kiosks),
    )


def rollout_status(db: HqDB, name: str | None = None, channel: str | None = None) -> list[RolloutStatus]:
    """The newest rollout of each bundle name and channel (newest first), with the fleet's health on it.

    Raises:
        HqStoreError: the store cannot be reached.
    """
    rows = _latest(db, name, channel)
    fleet = db.fleet() if rows else []
    return [_status(row, fleet) for row in rows]


def _current(db: HqDB, name: str, channel: str) -> RolloutStatus:
    found = rollout_status(db, name, channel)
    if not found:
        raise HqError(f"no rollout of {name!r} on channel {channel!r}")
    return found[0]


def _update(db: HqDB, rollout_id: int, now: datetime, **values: Any) -> None:
    with db.transaction() as conn:
        conn.execute(rollouts.update().where(rollouts.c.id == rollout_id).values(updated_at=_iso(now), **values))


# -- the commands -----------------------------------------------------------------------------


def start_rollout(
    repo: HqRepository,
    db: HqDB,
    bundle_dirs: Sequence[Path],
    plan: RolloutPlan,
    *,
    channel: str = "stable",
    now: datetime | None = None,
) -> RolloutStatus:
    """Publish bundles at the plan's first stage and record the rollout (led by the first bundle).

    The companions share the first bundle's rollout bucket (``cohort``), so a kiosk gets
    all of them or none; a companion whose version is published on the channel already
    is left as it is. A running rollout of the same bundle and channel is superseded.

    Raises:
        HqError: a bundle is broken, a signing key is missing, or the store failed.
    """
    now = now or datetime.now(UTC)
    if not bundle_dirs:
        raise HqError("a rollout needs at least one bundle")
    try:
        manifests = [read_manifest(d) for d in bundle_dirs]
    except (BundleError, OSError) as err:
        raise HqError(f"bundle rejected: {err}") from err
    lead = manifests[0].name
    inherited, withdrawn = _unfinished(db, lead, channel)
    bundles = []
    for directory, manifest in zip(bundle_dirs, manifests, strict=True):
        before = repo.published_target(manifest.name, channel)
        previous = None
        custom = before[1].get("custom", {}) if before is not None else {}
        before_version = custom.get("version")
        if before_version == manifest.version:
            if manifest.name == lead:
                raise HqError(f"{lead} {manifest.version} is published on {channel} already")
            if custom.get("percent", 100) < 100:
                raise HqError(
                    f"{manifest.name} {manifest.version} is published to {custom.get('percent')}% of {channel} only:"
                    " roll it out to the whole fleet first, or roll out a new version with this one"
                )
            continue  # a companion the whole fleet has already (e.g. the policy that declared the new service)
        key = (manifest.name, before_version)
        if key in inherited:  # the version out now never completed its rollout: a rollback goes past it
            previous = inherited[key]
        elif before is not None:
            previous = {"path": before[0], "target": before[1]}
        # Versions withdrawn earlier stay withdrawn (an agent offline then still learns of it).
        revoked = set(custom.get("revoked", ())) | ({before_version} if key in withdrawn else set())
        added = repo.add(
            directory,
            channel=channel,
            branches=plan.branches,
            percent=plan.stages[0],
            cohort=lead,
            revoked=tuple(sorted(str(v) for v in revoked)),
        )
        bundles.append(
            {"name": manifest.name, "version": manifest.version, "path": added["path"], "previous": previous}
        )
    repo.publish()
    with db.transaction() as conn:
        conn.execute(
            rollouts.update()
            .where(rollouts.c.name == lead, rollouts.c.channel == channel, rollouts.c.state == "running")
            .values(state="superseded", reason=f"superseded by {lead} {manifests[0].version}", updated_at=_iso(now))
        )
        conn.execute(
            rollouts.insert().values(
                name=lead,
                channel=channel,
                version=manifests[0].version,
                bundles=json.dumps(bundles, ensure_ascii=False),
                plan=plan.model_dump_json(),
                stage=0,
                state="running",
                reason="",
                started_at=_iso(now),
                stage_started_at=_iso(now),
                updated_at=_iso(now),
            )
        )
    return _current(db, lead, channel)


def _unfinished(db: HqDB, lead: str, channel: str) -> tuple[dict[tuple[str, str], Any], set[tuple[str, str]]]:
    """What the rollouts of ``lead`` that did not complete left behind.

    Returns each bundle version's previous target, and the versions that were halted or
    rolled back (known bad: never restored, revoked by the next rollout).
    """
    rows = db.read(
        select(rollouts.c.bundles, rollouts.c.state)
        .where(rollouts.c.name == lead, rollouts.c.channel == channel)
        .order_by(rollouts.c.id.desc())
    )
    inherited: dict[tuple[str, str], Any] = {}
    withdrawn: set[tuple[str, str]] = set()
    for row in rows:  # newest first
        if row["state"] == "complete":
            continue  # what it published reached the whole fleet healthy: a good previous version
        for bundle in json.loads(row["bundles"]):
            key = (bundle["name"], bundle["version"])
            inherited.setdefault(key, bundle["previous"])
            if row["state"] in ("halted", "rolled_back"):
                withdrawn.add(key)
    return inherited, withdrawn


def advance_rollout(
    repo: HqRepository, db: HqDB, name: str, *, channel: str = "stable", now: datetime | None = None
) -> tuple[RolloutStatus, Verdict]:
    """One controller step: widen, complete, halt or wait, by the kiosks' signed reports.

    Returns:
        The rollout after the step and the verdict (``wait`` for a rollout not running).

    Raises:
        HqError: no such rollout, a signing key is missing, or the store failed.
    """
    now = now or datetime.now(UTC)
    status = _current(db, name, channel)
    if status.state != "running":
        return status, Verdict("wait", f"rollout is {status.state}")
    plan = RolloutPlan(
        stages=status.stages,
        branches=status.branches,
        max_failure_rate=status.max_failure_rate,
        min_reports=status.min_reports,
        min_soak_s=status.min_soak_s,
    )
    for bundle in status.bundles:
        name_of, version = bundle.split("=", 1)
        published = repo.published_target(name_of, channel)
        if published is None or published[1].get("custom", {}).get("version") != version:
            reason = f"{name_of} {version} is no longer the published target (replaced outside the rollout)"
            _update(db, status.id, now, state="superseded", reason=reason)
            return _current(db, name, channel), Verdict("wait", reason)
    verdict = judge(plan, status.stage, status.stage_started_at, now, status.kiosks)
    if verdict.action == "halt":
        _update(db, status.id, now, state="halted", reason=verdict.reason)
    elif verdict.action == "complete":
        _update(db, status.id, now, state="complete", reason=verdict.reason)
    elif verdict.action == "advance":
        for bundle in status.bundles:
            repo.retarget(bundle.split("=", 1)[0], channel, percent=status.stages[status.stage + 1])
        repo.publish()
        _update(db, status.id, now, stage=status.stage + 1, stage_started_at=_iso(now), reason=verdict.reason)
    return _current(db, name, channel), verdict


def advance_all(repo: HqRepository, db: HqDB, now: datetime | None = None) -> list[tuple[RolloutStatus, Verdict]]:
    """One controller step for every running rollout (what ``kiosk hq serve --advance-every-s`` runs).

    Raises:
        HqError: a signing key is missing or the store failed.
    """
    return [
        advance_rollout(repo, db, found.name, channel=found.channel, now=now)
        for found in rollout_status(db)
        if found.state == "running"
    ]


def advance_every(home: Path, db_url: str, every_s: float, stop: threading.Event) -> None:
    """Run :func:`advance_all` every ``every_s`` seconds until ``stop`` is set (a thread beside HQ's server).

    A failed step (a key not mounted, the store down) is logged and tried again next time.
    """
    while not stop.wait(every_s):
        try:
            db = HqDB(db_url)
            try:
                for status, verdict in advance_all(HqRepository(home), db):
                    if verdict.action != "wait":
                        _LOG.info("rollout %s %s: %s (%s)", status.name, status.version, verdict.action, verdict.reason)
            finally:
                db.close()
        except HqError as err:
            _LOG.warning("rollout step failed: %s", err)


def rollback_rollout(
    repo: HqRepository, db: HqDB, name: str, *, channel: str = "stable", now: datetime | None = None, by: str = "cli"
) -> RolloutStatus:
    """Withdraw a rollout's versions from the whole fleet in one publish.

    Each bundle's earlier target comes back (kiosks that moved reinstall it) and the new
    version is listed as revoked, so an agent running it goes back to its previous version
    even where HQ never published one (a seeded kiosk).

    Raises:
        HqError: no such rollout, it is rolled back already, an archive or key is missing.
    """
    now = now or datetime.now(UTC)
    status = _current(db, name, channel)
    if status.state == "rolled_back":
        raise HqError(f"{name} {status.version} is rolled back already")
    row = db.read(select(rollouts.c.bundles).where(rollouts.c.id == status.id))[0]
    for bundle in json.loads(row["bundles"]):
        now_out = repo.published_target(bundle["name"], channel)
        previous = bundle["previous"]
        earlier = [] if now_out is None else now_out[1].get("custom", {}).get("revoked", [])
        if previous is not None:
            earlier = [*earlier, *previous["target"].get("custom", {}).get("revoked", [])]
        revoked = tuple(sorted({*map(str, earlier), bundle["version"]}))  # earlier withdrawals stay withdrawn
        if previous is not None:
            # The earlier version goes to every kiosk again (those that never left it keep it).
            repo.restore(previous["path"], previous["target"], percent=100, branches=(), cohort="", revoked=revoked)
        else:
            repo.retarget(bundle["name"], channel, revoked=revoked)
    repo.publish()
    _update(db, status.id, now, state="rolled_back", reason=f"rolled back by {by} at stage {status.percent}%")
    return _current(db, name, channel)
