"""Rollout commands that run at the same time, operators' staged changes, and a start that fails half-way.

A real HQ repository and a real SQLite store; the kiosks' reports are stored with
the store's own ``record_report`` (the signed path is tested in test_hq_rollout.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sync.errors import HqError
from sync.hq import HqRepository
from sync.hq.db import HqDB, hq_db_url
from sync.hq.rollout import RolloutPlan, RolloutStatus, advance_rollout, rollback_rollout, rollout_status, start_rollout
from sync.hq.rollout_lock import RolloutBusyError, rollout_lock, transition
from tests.integration.hq_helpers import cli, cli_lines, policy_version

CANARY = "canary01"
LATER = datetime.now(UTC).replace(microsecond=0) + timedelta(
    hours=1
)  # a controller step after the stage soaked and the canary reported


@dataclass
class Setup:
    home: Path
    store: str
    tmp: Path


@pytest.fixture
def hq(tmp_path: Path) -> Setup:
    """HQ with policy 1.0 published to the fleet and a rollout of 2.0 running at 5 % (and the canary branch)."""
    repo = HqRepository.init(tmp_path / "hq")
    repo.add(policy_version(tmp_path, "1.0"))
    repo.publish()
    return Setup(repo.home, hq_db_url(repo.home), tmp_path)


def start(setup: Setup, version: str = "2.0", **repo_args: Path) -> RolloutStatus:
    db = HqDB(setup.store)
    try:
        plan = RolloutPlan(branches=(CANARY,), min_soak_s=0)
        repo = HqRepository(setup.home, **repo_args)
        return start_rollout(repo, db, [policy_version(setup.tmp, version)], plan, now=LATER - timedelta(hours=2))
    finally:
        db.close()


def canary_reports(setup: Setup, version: str = "2.0") -> None:
    db = HqDB(setup.store)
    try:
        db.record_report(
            "kiosk-a", branch=CANARY, versions={"policy": version}, healthy=True, last_error="", rejected={}
        )
    finally:
        db.close()


def status(setup: Setup) -> RolloutStatus:
    db = HqDB(setup.store)
    try:
        (found,) = rollout_status(db, "policy")
    finally:
        db.close()
    return found


def targets_version(setup: Setup) -> int:
    return int(json.loads((setup.home / "signed" / "targets.json").read_text())["signed"]["version"])


def published(setup: Setup, channel: str = "stable") -> tuple[str, int, list[str]]:
    found = HqRepository(setup.home).published_target("policy", channel)
    assert found is not None
    custom = found[1]["custom"]
    return custom["version"], custom["percent"], custom["revoked"]


def test_racing_controller_steps_widen_once_and_publish_once(hq: Setup) -> None:
    start(hq)
    canary_reports(hq)
    before = targets_version(hq)
    gate = threading.Barrier(3)
    actions: list[str] = []

    def step() -> None:
        db = HqDB(hq.store)
        try:
            gate.wait()
            actions.append(advance_rollout(HqRepository(hq.home), db, "policy", now=LATER)[1].action)
        finally:
            db.close()

    threads = [threading.Thread(target=step) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(actions) == ["advance", "wait", "wait"]
    assert targets_version(hq) == before + 1  # one publish
    assert (status(hq).stage, published(hq)[1]) == (1, 25)


def test_an_advance_in_another_process_waits_for_a_rollback_and_publishes_nothing(hq: Setup) -> None:
    start(hq)
    canary_reports(hq)
    env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    command = [str(Path(sys.executable).parent / "kiosk"), "hq", "rollout", "advance", str(hq.home), "policy"]
    with rollout_lock(hq.home):  # an operator's rollback is under way
        advance = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        with pytest.raises(subprocess.TimeoutExpired):
            advance.wait(timeout=3)  # it waits for the lock (never done while the lock is held)
        db = HqDB(hq.store)
        try:
            rollback_rollout(HqRepository(hq.home), db, "policy")  # the same thread may take the lock again
        finally:
            db.close()
    out, err = advance.communicate(timeout=120)
    assert advance.returncode == 0, err
    step = json.loads(out.strip().splitlines()[-1])
    assert (step["action"], step["state"], step["why"]) == ("wait", "rolled_back", "rollout is rolled_back")
    assert published(hq) == ("1.0", 100, ["2.0"])  # the rollback stands


@contextmanager
def held_by_another_thread(home: Path) -> Iterator[None]:
    """HQ's lock held by another thread (another command) for as long as the block runs."""
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with rollout_lock(home):
            held.set()
            release.wait(timeout=120)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(timeout=60)
        yield
    finally:
        release.set()
        holder.join(timeout=60)


def test_a_held_lock_bounds_the_wait_with_a_clear_error_and_changes_nothing(hq: Setup) -> None:
    start(hq)
    canary_reports(hq)
    with held_by_another_thread(hq.home):
        db = HqDB(hq.store)
        try:
            with pytest.raises(RolloutBusyError, match=r"another rollout command \(pid \d+\) holds .*rollout.lock"):
                advance_rollout(HqRepository(hq.home), db, "policy", now=LATER, lock_wait_s=0.2)
            with pytest.raises(RolloutBusyError, match=r"waited 0\.2 s: try again"):
                rollback_rollout(HqRepository(hq.home), db, "policy", lock_wait_s=0.2)
        finally:
            db.close()
    assert (status(hq).state, status(hq).stage, published(hq)[:2]) == ("running", 0, ("2.0", 5))


def test_an_operators_add_and_remove_wait_for_the_lock_and_stage_nothing_when_refused(hq: Setup) -> None:
    start(hq)  # a rollout's publish sets the operator's staging aside and back under the lock
    repo = HqRepository(hq.home)
    staged_before = repo.staging.read_bytes() if repo.staging.exists() else None
    bundle = policy_version(hq.tmp, "3.0")
    with held_by_another_thread(hq.home):
        repo.lock_wait_s = 0.2
        with pytest.raises(RolloutBusyError, match=r"waited 0\.2 s: try again"):
            repo.add(bundle, channel="stable")
        with pytest.raises(RolloutBusyError, match=r"waited 0\.2 s: try again"):
            repo.remove("policy")
        with pytest.raises(RolloutBusyError, match=r"waited 0\.2 s: try again"):
            repo.retarget("policy", percent=50)
        assert (repo.staging.read_bytes() if repo.staging.exists() else None) == staged_before
    repo.lock_wait_s = None
    staged = repo.add(bundle, channel="stable")
    assert staged["version"] == "3.0"
    assert repo.remove("policy") == 1


def test_a_stale_transition_is_refused_and_a_failed_publish_keeps_the_row(hq: Setup) -> None:
    read = start(hq)  # what a controller step read: running at stage 0
    cli("hq", "rollout", "rollback", str(hq.home), "policy")  # another command rolls it back meanwhile
    db = HqDB(hq.store)
    try:
        with transition(db, read.id, LATER, {"state": read.state, "stage": read.stage}, stage=1) as tx:
            assert tx is None  # the step learns it lost: it publishes nothing
        assert (status(hq).state, status(hq).stage) == ("rolled_back", 0)
        start(hq, "3.0")
        fresh = status(hq)
        with pytest.raises(HqError, match="no key"):
            failing_publish(db, fresh.id)
        assert (status(hq).state, status(hq).stage) == ("running", 0)
    finally:
        db.close()


def failing_publish(db: HqDB, rollout_id: int) -> None:
    """A stage change whose publish (inside the transition) fails."""
    with transition(db, rollout_id, LATER, {"state": "running", "stage": 0}, stage=1) as tx:
        if tx is not None:
            raise HqError("no key")


def test_an_advance_publishes_only_the_rollouts_targets_and_the_operators_stay_staged(hq: Setup) -> None:
    repo = HqRepository(hq.home)
    repo.add(policy_version(hq.tmp, "9.0-beta"), channel="beta")  # an operator's change, not published yet
    start(hq)
    assert HqRepository(hq.home).published_target("policy", "beta") is None
    canary_reports(hq)
    db = HqDB(hq.store)
    try:
        _, verdict = advance_rollout(repo, db, "policy", now=LATER)
    finally:
        db.close()
    assert verdict.action == "advance"
    assert published(hq)[:2] == ("2.0", 25)
    assert HqRepository(hq.home).published_target("policy", "beta") is None
    staged = {(b["channel"], b["version"], b["percent"], b["published"]) for b in repo.bundles()}
    assert staged == {("stable", "2.0", 25, True), ("beta", "9.0-beta", 100, False)}
    cli("hq", "publish", str(hq.home))  # the operator publishes their change later
    assert published(hq, "beta")[0] == "9.0-beta"
    assert published(hq)[:2] == ("2.0", 25)  # and does not undo the stage


def test_an_operators_staged_version_of_the_same_bundle_is_kept_and_ends_the_rollout_when_published(
    hq: Setup,
) -> None:
    start(hq)
    canary_reports(hq)
    HqRepository(hq.home).add(policy_version(hq.tmp, "3.0"))  # staged over the rollout's target
    db = HqDB(hq.store)
    try:
        assert advance_rollout(HqRepository(hq.home), db, "policy", now=LATER)[1].action == "advance"
        assert published(hq)[:2] == ("2.0", 25)
        cli("hq", "publish", str(hq.home))
        assert published(hq)[0] == "3.0"
        after, verdict = advance_rollout(HqRepository(hq.home), db, "policy", now=LATER)
    finally:
        db.close()
    assert (after.state, verdict.reason) == (
        "superseded",
        "policy 2.0 is no longer the published target (replaced outside the rollout)",
    )


def test_a_start_whose_publish_fails_is_recorded_visible_and_rolls_back(hq: Setup) -> None:
    (hq.tmp / "no-keys").mkdir()
    with pytest.raises(HqError, match="targets needs 1 signing key"):
        start(hq, offline_keys=hq.tmp / "no-keys")  # the targets key is not mounted: the publish raises
    assert published(hq) == ("1.0", 100, [])
    assert not (hq.home / "staged" / "targets.json").exists()  # nothing left for an operator's next publish
    (row,) = cli_lines("hq", "rollout", "status", str(hq.home))
    assert (row["state"], row["version"]) == ("starting", "2.0")
    assert row["reason"].startswith("publish failed: targets needs 1 signing key")
    step = cli("hq", "rollout", "advance", str(hq.home), "policy")
    assert (step["action"], step["why"]) == ("wait", "rollout is starting: policy 2.0 not published")
    rolled = cli("hq", "rollout", "rollback", str(hq.home), "policy")
    assert rolled["state"] == "rolled_back"
    assert published(hq) == ("1.0", 100, ["2.0"])


def test_a_start_interrupted_after_its_publish_becomes_running_at_the_next_step(hq: Setup) -> None:
    started = start(hq)
    db = HqDB(hq.store)
    try:  # as if the command stopped between the publish and marking the row running
        with transition(db, started.id, LATER, {"state": "running"}, state="starting") as tx:
            assert tx is not None
        assert cli_lines("hq", "rollout", "status", str(hq.home))[0]["state"] == "starting"
        after, verdict = advance_rollout(HqRepository(hq.home), db, "policy", now=LATER)
    finally:
        db.close()
    assert (after.state, verdict.reason) == ("running", "its publish had happened: now running")


def test_an_operators_publish_waits_for_a_rollout_command(hq: Setup) -> None:
    done = threading.Event()

    def publish() -> None:
        HqRepository(hq.home).publish()
        done.set()

    before = targets_version(hq)
    with rollout_lock(hq.home):
        HqRepository(hq.home).add(policy_version(hq.tmp, "3.0"))
        operator = threading.Thread(target=publish)
        operator.start()
        assert not done.wait(timeout=1)  # never done while a rollout command holds the lock
        assert targets_version(hq) == before
    operator.join(timeout=120)
    assert done.is_set()
    assert (targets_version(hq), published(hq)[0]) == (before + 1, "3.0")


def test_resigning_leaves_the_operators_staged_targets_staged(hq: Setup) -> None:
    repo = HqRepository(hq.home)
    repo.add(policy_version(hq.tmp, "3.0"))
    staged = (hq.home / "staged" / "targets.json").read_bytes()
    result = repo.resign(within=timedelta(days=30))  # the timestamp (1 day) expires within: re-signed
    assert (result.changed, result.targets_version) == (False, 2)
    assert published(hq)[0] == "1.0"
    assert (hq.home / "staged" / "targets.json").read_bytes() == staged


def test_status_shows_the_stage_soak_and_the_kiosks_still_on_the_previous_version(hq: Setup) -> None:
    start(hq)  # its stage began an hour ago
    db = HqDB(hq.store)
    try:
        for kiosk, version in (("kiosk-a", "2.0"), ("kiosk-b", "1.0"), ("kiosk-c", "1.0"), ("kiosk-d", "0.9")):
            db.record_report(
                kiosk, branch="sh01", versions={"policy": version}, healthy=True, last_error="", rejected={}
            )
        (found,) = rollout_status(db, now=LATER)
    finally:
        db.close()
    assert (found.soaked_s, found.previous_version) == (7200.0, "1.0")
    assert (found.kiosks_previous, found.previous_ids) == (2, ("kiosk-b", "kiosk-c"))
    row = cli("hq", "rollout", "status", str(hq.home), "policy")
    assert 3000 < row["soaked_s"] < 7200  # counted to the clock
    assert (row["kiosks_previous"], row["previous_ids"], row["kiosks_old"]) == (2, ["kiosk-b", "kiosk-c"], 3)
    rolled = cli("hq", "rollout", "rollback", str(hq.home), "policy")
    assert rolled["soaked_s"] == status(hq).soaked_s  # a finished stage's soak stops at its last change
