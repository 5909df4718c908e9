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

from sqlalchemy import select
from sqlalchemy.engine import Connection

from bundles import read_manifest
from sync.errors import BundleError, HqError
from sync.hq.db import HqDB
from sync.hq.repository import HqRepository
from sync.hq.rollout_judge import DEFAULT_STAGES, KioskHealth, RolloutPlan, Verdict, judge, kiosk_health
from sync.hq.rollout_lock import LOCK_WAIT_S, own_staging, publish_own, rollout_lock, transition
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
PREVIOUS_IDS = 50
RolloutState = Literal["starting", "running", "halted", "complete", "rolled_back", "superseded"]


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
    soaked_s: float  # how long the current stage has run: until now while it runs, else until its last change
    previous_version: str  # the leading bundle's version this rollout replaces ('' when HQ never published one)
    kiosks_previous: int  # healthy kiosks still reporting previous_version (without one: not on the new version)
    previous_ids: tuple[str, ...]  # their ids, the longest silent first, at most PREVIOUS_IDS
    kiosks: tuple[KioskHealth, ...]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


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


def _status(row: Mapping[str, Any], fleet: Sequence[Mapping[str, Any]], now: datetime) -> RolloutStatus:
    plan = RolloutPlan.model_validate_json(row["plan"])
    bundles = json.loads(row["bundles"])
    lead = next((b for b in bundles if b["name"] == row["name"]), {"previous": None})
    before = str((lead["previous"] or {"target": {}})["target"].get("custom", {}).get("version", ""))
    until = now if row["state"] in ("running", "starting") else datetime.fromisoformat(row["updated_at"])
    versions = {b["name"]: b["version"] for b in bundles}
    kiosks = kiosk_health(fleet, versions, row["name"])
    failed = sum(k.failed for k in kiosks)
    new = sum(k.on_new and not k.failed for k in kiosks)
    counted = sum(k.on_new or k.failed for k in kiosks)
    fresh = sum(k.on_new and not k.failed and k.last_seen >= row["stage_started_at"] for k in kiosks)
    behind = [k for k in kiosks if not k.on_new and not k.failed and (k.version == before if before else True)]
    behind.sort(key=lambda k: k.last_seen)
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
        soaked_s=float(round(max(0.0, (until - datetime.fromisoformat(row["stage_started_at"])).total_seconds()))),
        previous_version=before,
        kiosks_previous=len(behind),
        previous_ids=tuple(k.kiosk_id for k in behind[:PREVIOUS_IDS]),
        kiosks=tuple(kiosks),
    )


def rollout_status(
    db: HqDB, name: str | None = None, channel: str | None = None, *, now: datetime | None = None
) -> list[RolloutStatus]:
    """The newest rollout of each bundle name and channel (newest first), with the fleet's health on it.

    ``now`` (default: the clock) is what a running stage's soak time counts to.

    Raises:
        HqStoreError: the store cannot be reached.
    """
    rows = _latest(db, name, channel)
    fleet = db.fleet() if rows else []
    return [_status(row, fleet, now or datetime.now(UTC)) for row in rows]


def _current(db: HqDB, name: str, channel: str, now: datetime) -> RolloutStatus:
    found = rollout_status(db, name, channel, now=now)
    if not found:
        raise HqError(f"no rollout of {name!r} on channel {channel!r}")
    return found[0]


def _moved(db: HqDB, status: RolloutStatus, now: datetime, **values: Any) -> bool:
    """Change a rollout's row if no other command changed it since ``status`` was read (nothing published)."""
    with transition(db, status.id, now, {"state": status.state, "stage": status.stage}, **values) as conn:
        return conn is not None


# -- the commands -----------------------------------------------------------------------------


def start_rollout(
    repo: HqRepository,
    db: HqDB,
    bundle_dirs: Sequence[Path],
    plan: RolloutPlan,
    *,
    channel: str = "stable",
    now: datetime | None = None,
    lock_wait_s: float = LOCK_WAIT_S,
) -> RolloutStatus:
    """Record the rollout (``starting``), publish bundles at the plan's first stage, then mark it ``running``.

    The first bundle leads. The companions share its rollout bucket (``cohort``), so a kiosk
    gets all of them or none; a companion whose version is published on the channel already
    is left as it is. A running rollout of the same bundle and channel is superseded. Only
    the rollout's targets are published (an operator's staged changes stay staged). When the
    publish fails the row stays ``starting``, with the reason: roll it back or start again.

    Raises:
        HqError: a bundle is broken, a signing key is missing, the store failed, or another
            rollout command held the lock too long (:class:`RolloutBusyError`).
    """
    now = now or datetime.now(UTC)
    if not bundle_dirs:
        raise HqError("a rollout needs at least one bundle")
    try:
        manifests = [read_manifest(d) for d in bundle_dirs]
    except (BundleError, OSError) as err:
        raise HqError(f"bundle rejected: {err}") from err
    lead = manifests[0].name
    with rollout_lock(repo.home, lock_wait_s), own_staging(repo) as own:
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
                        f"{manifest.name} {manifest.version} is published to {custom.get('percent')}% of {channel}"
                        " only: roll it out to the whole fleet first, or roll out a new version with this one"
                    )
                continue  # a companion the whole fleet has already (e.g. the policy that declared the new service)
            key = (manifest.name, before_version)
            if key in inherited:  # the version out now never completed its rollout: a rollback goes past it
                previous = inherited[key]
            elif before is not None:
                previous = {"path": before[0], "target": before[1]}
            # Versions withdrawn earlier stay withdrawn (an agent offline then still learns of it).
            revoked = set(custom.get("revoked", ())) | ({before_version} if key in withdrawn else set())
            added = own.add(
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
        with db.transaction() as conn:  # recorded before anything is published: a crash leaves a row to roll back
            inserted = conn.execute(
                rollouts.insert().values(
                    name=lead,
                    channel=channel,
                    version=manifests[0].version,
                    bundles=json.dumps(bundles, ensure_ascii=False),
                    plan=plan.model_dump_json(),
                    stage=0,
                    state="starting",
                    reason=f"publishing since {_iso(now)}: if it stays starting, roll it back or start it again",
                    started_at=_iso(now),
                    stage_started_at=_iso(now),
                    updated_at=_iso(now),
                )
            ).inserted_primary_key
        rollout_id = int(inserted[0]) if inserted is not None else 0
        try:
            with transition(db, rollout_id, now, {"state": "starting"}, state="running", reason="") as tx:
                if tx is not None:
                    _supersede(
                        tx, lead, channel, by=rollout_id, reason=f"superseded by {lead} {manifests[0].version}", now=now
                    )
                    publish_own(repo, own)
        except HqError as err:
            reason = f"publish failed: {err}; roll it back or start it again"
            with transition(db, rollout_id, now, {"state": "starting"}, reason=reason):
                pass
            raise
    return _current(db, lead, channel, now)


def _supersede(conn: Connection, lead: str, channel: str, *, by: int, reason: str, now: datetime) -> None:
    """Supersede the other running or starting rollouts of ``lead`` on ``channel`` (``by`` is the new one's id)."""
    conn.execute(
        rollouts.update()
        .where(rollouts.c.name == lead, rollouts.c.channel == channel, rollouts.c.id != by)
        .where(rollouts.c.state.in_(("running", "starting")))
        .values(state="superseded", reason=reason, updated_at=_iso(now))
    )


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
    repo: HqRepository,
    db: HqDB,
    name: str,
    *,
    channel: str = "stable",
    now: datetime | None = None,
    lock_wait_s: float = LOCK_WAIT_S,
) -> tuple[RolloutStatus, Verdict]:
    """One controller step: widen, complete, halt or wait, by the kiosks' signed reports.

    A ``starting`` rollout whose publish happened (the command stopped before marking it)
    becomes ``running``. Widening publishes only the rollout's targets.

    Returns:
        The rollout after the step and the verdict (``wait`` for a rollout not running).

    Raises:
        HqError: no such rollout, a signing key is missing, the store failed, or another
            rollout command held the lock too long (:class:`RolloutBusyError`).
    """
    now = now or datetime.now(UTC)
    with rollout_lock(repo.home, lock_wait_s):
        status = _current(db, name, channel, now)
        out = [b.split("=", 1) for b in status.bundles]
        published = [repo.published_target(b, channel) for b, _ in out]
        gone = [f"{b} {v}" for (b, v), p in zip(out, published, strict=True) if _version(p) != v]
        if status.state == "starting":
            if gone:
                return status, Verdict("wait", f"rollout is starting: {', '.join(gone)} not published")
            with transition(db, status.id, now, {"state": "starting"}, state="running", reason="") as tx:
                if tx is not None:
                    _supersede(
                        tx, name, channel, by=status.id, reason=f"superseded by {name} {status.version}", now=now
                    )
            return _current(db, name, channel, now), Verdict("wait", "its publish had happened: now running")
        if status.state != "running":
            return status, Verdict("wait", f"rollout is {status.state}")
        if gone:
            reason = f"{gone[0]} is no longer the published target (replaced outside the rollout)"
            _moved(db, status, now, state="superseded", reason=reason)
            return _current(db, name, channel, now), Verdict("wait", reason)
        plan = RolloutPlan.model_validate(
            {k: getattr(status, k) for k in ("stages", "branches", "max_failure_rate", "min_reports", "min_soak_s")}
        )
        verdict = judge(plan, status.stage, status.stage_started_at, now, status.kiosks)
        lost = Verdict("wait", "another command changed the rollout first: nothing published")
        if verdict.action in ("halt", "complete"):
            state = "halted" if verdict.action == "halt" else "complete"
            if not _moved(db, status, now, state=state, reason=verdict.reason):
                verdict = lost
        elif verdict.action == "advance":
            with own_staging(repo) as own:
                for bundle, _ in out:
                    own.retarget(bundle, channel, percent=status.stages[status.stage + 1])
                values = {"stage": status.stage + 1, "stage_started_at": _iso(now), "reason": verdict.reason}
                with transition(db, status.id, now, {"state": "running", "stage": status.stage}, **values) as tx:
                    if tx is None:
                        verdict = lost
                    else:
                        publish_own(repo, own)
        return _current(db, name, channel, now), verdict


def _version(published: tuple[str, dict[str, Any]] | None) -> str | None:
    return None if published is None else published[1].get("custom", {}).get("version")


def advance_all(repo: HqRepository, db: HqDB, now: datetime | None = None) -> list[tuple[RolloutStatus, Verdict]]:
    """One controller step for every running rollout (what ``kiosk hq serve --advance-every-s`` runs).

    Raises:
        HqError: a signing key is missing or the store failed.
    """
    return [
        advance_rollout(repo, db, found.name, channel=found.channel, now=now)
        for found in rollout_status(db, now=now)
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
    repo: HqRepository,
    db: HqDB,
    name: str,
    *,
    channel: str = "stable",
    now: datetime | None = None,
    by: str = "cli",
    lock_wait_s: float = LOCK_WAIT_S,
) -> RolloutStatus:
    """Withdraw a rollout's versions from the whole fleet in one publish (of the rollout's targets only).

    Each bundle's earlier target comes back (kiosks that moved reinstall it) and the new
    version is listed as revoked, so an agent running it goes back to its previous version
    even where HQ never published one (a seeded kiosk). A ``starting`` rollout (its start
    failed or was interrupted) rolls back too.

    Raises:
        HqError: no such rollout, it is rolled back already, an archive or key is missing,
            or another rollout command held the lock too long (:class:`RolloutBusyError`).
    """
    now = now or datetime.now(UTC)
    with rollout_lock(repo.home, lock_wait_s), own_staging(repo) as own:
        status = _current(db, name, channel, now)
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
                own.restore(previous["path"], previous["target"], percent=100, branches=(), cohort="", revoked=revoked)
            elif now_out is not None:
                own.retarget(bundle["name"], channel, revoked=revoked)
        reason = f"rolled back by {by} at stage {status.percent}%"
        when = {"state": status.state, "stage": status.stage}
        with transition(db, status.id, now, when, state="rolled_back", reason=reason) as tx:
            if tx is None:
                raise HqError(f"{name} {status.version} changed while rolling back (nothing published): try again")
            publish_own(repo, own)
    return _current(db, name, channel, now)
