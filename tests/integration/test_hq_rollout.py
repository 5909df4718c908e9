"""Staged rollouts for real: an HQ server on port 0, real sync agents checking real policy bundles.

The controller widens a rollout only on the canaries' signed healthy reports,
halts it when a canary fails to activate the new version, and one command
rolls the fleet back (the agent reinstalls the previous version). Unsigned or
spoofed reports do not move it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bundles.activation import active_manifest
from bundles.history import sync_history
from kiosk.assembly import Health, provision
from kiosk.cli import app as kiosk_cli
from kiosk.config import Settings
from sync.agent import SyncAgent
from sync.agent.config import load_state
from sync.envelope import seal
from sync.hq import HqRepository
from sync.hq.db import HqDB
from sync.hq.rollout import RolloutPlan, rollout_status, start_rollout
from sync.hq_cli import store_url
from sync.targeting import rollout_bucket
from tests.integration.hq_helpers import Hq, cli, cli_lines, cycle, policy_version, provision_kiosk, running_hq

CANARY = "canary01"


def late_kiosk_id(name: str, at_least: int) -> str:
    """A kiosk id whose rollout bucket for ``name`` is at least ``at_least`` (it joins only at a later stage)."""
    return next(f"kiosk-b{n}" for n in range(1000) if rollout_bucket(f"kiosk-b{n}", name) >= at_least)


BOTH_STORES = pytest.mark.parametrize("hq", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def hq(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Hq]:
    """HQ on SQLite, or on the session's PostgreSQL for the tests marked BOTH_STORES."""
    if getattr(request, "param", "sqlite") == "sqlite":
        store = f"sqlite:///{tmp_path / 'hq-store' / 'hq.db'}"
    else:
        store = request.getfixturevalue("pg_server").create_database()
    with running_hq(tmp_path / "hq", store) as served:
        yield served


@pytest.fixture
def fleet(tmp_path: Path, hq: Hq) -> tuple[SyncAgent, SyncAgent]:
    """Canary kiosk A (in the canary branch) and kiosk B (bucket >= 25), both on policy 1.0 from HQ."""
    a = provision_kiosk(tmp_path / "a", hq, "kiosk-a", CANARY)
    b = provision_kiosk(tmp_path / "b", hq, late_kiosk_id("policy", 25), "sh02")
    cli("hq", "add", str(hq.home), str(policy_version(tmp_path, "1.0")))
    cli("hq", "publish", str(hq.home))
    for agent in (a, b):
        cycle(agent)
        assert active(agent) == "1.0"
    return a, b


def active(agent: SyncAgent, name: str = "policy") -> str:
    manifest = active_manifest(agent.state_dir, name)
    return manifest.version if manifest is not None else ""


def start(hq: Hq, bundle: Path) -> dict[str, object]:
    # No soak: these tests move the rollout with explicit agent cycles and controller steps.
    args = ("--branches", CANARY, "--stages", "5,25,100", "--soak-s", "0")
    return cli("hq", "rollout", "start", str(hq.home), str(bundle), *args)


def advance(hq: Hq) -> dict[str, object]:
    return cli("hq", "rollout", "advance", str(hq.home), "policy")


def published_percent(hq: Hq) -> int:
    found = HqRepository(hq.home).published_target("policy")
    assert found is not None
    return int(found[1]["custom"]["percent"])


@BOTH_STORES
def test_a_healthy_rollout_widens_stage_by_stage_until_the_fleet_has_it(
    tmp_path: Path, hq: Hq, fleet: tuple[SyncAgent, SyncAgent]
) -> None:
    a, b = fleet
    started = start(hq, policy_version(tmp_path, "2.0"))
    assert (started["state"], started["percent"], started["bundles"]) == ("running", 5, ["policy=2.0"])
    assert advance(hq)["action"] == "wait"  # no kiosk runs it yet: nothing proves it healthy

    cycle(a)
    cycle(b)
    assert (active(a), active(b)) == ("2.0", "1.0")  # the canary branch only
    status = cli("hq", "rollout", "status", str(hq.home), "policy")
    assert (status["kiosks_new"], status["kiosks_old"], status["kiosks_failed"]) == (1, 1, 0)
    step = advance(hq)
    assert (step["action"], step["percent"], step["state"]) == ("advance", 25, "running")
    assert published_percent(hq) == 25
    cycle(b)
    assert active(b) == "1.0"  # bucket >= 25: not yet

    cycle(a)  # a fresh healthy report in the new stage
    assert advance(hq)["percent"] == 100
    cycle(b)
    assert active(b) == "2.0"
    done = advance(hq)
    assert (done["action"], done["state"], done["kiosks_new"]) == ("complete", "complete", 2)
    assert advance(hq)["action"] == "wait"  # a finished rollout stays finished


@BOTH_STORES
def test_a_canary_that_fails_to_activate_halts_the_rollout(
    tmp_path: Path, hq: Hq, fleet: tuple[SyncAgent, SyncAgent]
) -> None:
    a, b = fleet
    start(hq, policy_version(tmp_path, "2.0-bad", broken=True))
    cycle(a)
    assert active(a) == "1.0"  # its health check refused the new version
    assert "2.0-bad" in load_state(a.state_dir).bundle("policy").rejected
    step = advance(hq)
    assert (step["action"], step["state"]) == ("halt", "halted")
    assert "kiosk-a: rejected or rolled back policy 2.0-bad" in str(step["reason"])
    assert step["failure_rate"] == 1.0
    assert advance(hq)["action"] == "wait"  # halted: it never widens again
    assert published_percent(hq) == 5
    cycle(b)
    assert active(b) == "1.0"
    db = HqDB(hq.store)
    try:
        (status,) = rollout_status(db)
    finally:
        db.close()
    assert (status.state, status.percent, status.kiosks_failed) == ("halted", 5, 1)
    assert [k.kiosk_id for k in status.kiosks if k.failed] == ["kiosk-a"]


@BOTH_STORES
def test_one_command_rolls_the_fleet_back_and_the_kiosk_reinstalls_the_previous_version(
    tmp_path: Path, hq: Hq, fleet: tuple[SyncAgent, SyncAgent]
) -> None:
    a, b = fleet
    start(hq, policy_version(tmp_path, "2.0"))
    cycle(a)
    assert active(a) == "2.0"
    rolled = cli("hq", "rollout", "rollback", str(hq.home), "policy")
    assert (rolled["state"], rolled["reason"]) == ("rolled_back", "rolled back by cli at stage 5%")
    restored = HqRepository(hq.home).published_target("policy")
    assert restored is not None
    assert (restored[1]["custom"]["version"], restored[1]["custom"]["revoked"]) == ("1.0", ["2.0"])

    cycle(a)
    assert active(a) == "1.0"
    event = next(e for e in sync_history(a.state_dir / "kiosk.db") if e.event == "rolled_back")
    assert (event.version, event.detail) == ("1.0", "from 2.0 by HQ (revoked 2.0)")
    cycle(a)
    assert active(a) == "1.0"  # revoked: never installed again
    cycle(b)
    assert active(b) == "1.0"
    assert cli_lines("hq", "rollout", "status", str(hq.home))[0]["state"] == "rolled_back"


def test_a_rollback_without_an_earlier_target_sends_kiosks_back_to_their_own_previous_version(
    tmp_path: Path, hq: Hq
) -> None:
    # The kiosk's 1.0 came with its installation (never published by HQ): HQ can only revoke 2.0.
    state = tmp_path / "seeded"
    provision(Settings(state_dir=state, seed_dirs=(policy_version(tmp_path, "1.0"),)), Health())
    kiosk = provision_kiosk(state, hq, "kiosk-s", CANARY)
    assert active(kiosk) == "1.0"
    start(hq, policy_version(tmp_path, "2.0"))
    cycle(kiosk)
    assert active(kiosk) == "2.0"
    cli("hq", "rollout", "rollback", str(hq.home), "policy")
    cycle(kiosk)
    assert active(kiosk) == "1.0"


def test_unsigned_and_spoofed_reports_do_not_move_a_rollout(
    tmp_path: Path, hq: Hq, fleet: tuple[SyncAgent, SyncAgent]
) -> None:
    a, _b = fleet
    start(hq, policy_version(tmp_path, "2.0"))
    claim = {"kiosk_id": "kiosk-a", "branch": CANARY, "versions": {"policy": "2.0"}, "healthy": True}
    body = json.dumps(claim).encode()
    stranger = Ed25519PrivateKey.generate()
    spoofed = seal(stranger, "kiosk-a", 10**9, now=time.time(), path="/api/report", body=body)
    with httpx.Client(base_url=hq.base, timeout=10) as client:
        unsigned = client.post("/api/report", content=body, headers={"Content-Type": "application/json"})
        forged = client.post(
            "/api/report", content=body, headers={"Content-Type": "application/json", **spoofed.headers()}
        )
    assert unsigned.status_code == 401
    assert forged.status_code in {401, 403}
    step = advance(hq)
    assert (step["action"], step["kiosks_new"], step["percent"]) == ("wait", 0, 5)
    cycle(a)  # the kiosk's own signed report does
    assert advance(hq)["action"] == "advance"


def test_a_new_rollout_supersedes_the_running_one(tmp_path: Path, hq: Hq, fleet: tuple[SyncAgent, SyncAgent]) -> None:
    repo = HqRepository(hq.home)
    db = HqDB(hq.store)
    try:
        start_rollout(repo, db, [policy_version(tmp_path, "2.0")], RolloutPlan(branches=(CANARY,)))
        start_rollout(repo, db, [policy_version(tmp_path, "2.1")], RolloutPlan(branches=(CANARY,)))
        (status,) = rollout_status(db)
    finally:
        db.close()
    assert (status.version, status.state) == ("2.1", "running")
    rows = cli_lines("hq", "rollout", "status", str(hq.home))
    assert [r["version"] for r in rows] == ["2.1"]
    cli("hq", "rollout", "rollback", str(hq.home), "policy")  # back to 1.0, not to the half-rolled-out 2.0
    restored = HqRepository(hq.home).published_target("policy")
    assert restored is not None
    assert restored[1]["custom"]["version"] == "1.0"


def test_a_halted_version_is_never_restored_and_stays_revoked(
    tmp_path: Path, hq: Hq, fleet: tuple[SyncAgent, SyncAgent]
) -> None:
    a, _ = fleet
    start(hq, policy_version(tmp_path, "2.0-bad", broken=True))
    cycle(a)
    assert advance(hq)["state"] == "halted"  # 2.0-bad stays published at 5 %, halted
    start(hq, policy_version(tmp_path, "3.0"))
    out = HqRepository(hq.home).published_target("policy")
    assert out is not None
    assert (out[1]["custom"]["version"], out[1]["custom"]["revoked"]) == ("3.0", ["2.0-bad"])
    cli("hq", "rollout", "rollback", str(hq.home), "policy")  # back past the halted version, to 1.0
    restored = HqRepository(hq.home).published_target("policy")
    assert restored is not None
    assert (restored[1]["custom"]["version"], restored[1]["custom"]["revoked"]) == ("1.0", ["2.0-bad", "3.0"])
    cycle(a)
    assert active(a) == "1.0"


def test_hq_serve_advances_running_rollouts_on_its_own(tmp_path: Path) -> None:
    home = HqRepository.init(tmp_path / "hq").home
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    kiosk_cmd = Path(sys.executable).parent / "kiosk"
    server = subprocess.Popen(
        [str(kiosk_cmd), "hq", "serve", str(home), "--port", str(port), "--advance-every-s", "0.3"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while not _up(f"{base}/metadata/1.root.json"):
            assert time.monotonic() < deadline, "kiosk hq serve did not start"
            time.sleep(0.2)
        hq = Hq(home, base, store_url(home, ""))
        a = provision_kiosk(tmp_path / "a", hq, "kiosk-a", CANARY)
        start(hq, policy_version(tmp_path, "2.0"))
        cycle(a)
        assert active(a) == "2.0"
        deadline = time.monotonic() + 60
        while cli("hq", "rollout", "status", str(home), "policy")["percent"] != 25:
            assert time.monotonic() < deadline, "the server did not advance the rollout"
            time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=20)


def _up(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_a_staff_rollback_at_a_canary_halts_the_rollout(
    tmp_path: Path, hq: Hq, fleet: tuple[SyncAgent, SyncAgent]
) -> None:
    a, _b = fleet
    start(hq, policy_version(tmp_path, "2.0"))
    cycle(a)
    assert active(a) == "2.0"
    a.rollback("policy")  # staff at the canary branch did not like it
    cycle(a)
    assert active(a) == "1.0"
    step = advance(hq)
    assert (step["action"], step["state"]) == ("halt", "halted")
    assert "kiosk-a: rejected or rolled back policy 2.0" in str(step["reason"])


def test_a_target_replaced_outside_the_rollout_ends_it(
    tmp_path: Path, hq: Hq, fleet: tuple[SyncAgent, SyncAgent]
) -> None:
    a, _b = fleet
    start(hq, policy_version(tmp_path, "2.0"))
    cycle(a)
    cli("hq", "add", str(hq.home), str(policy_version(tmp_path, "3.0")))
    cli("hq", "publish", str(hq.home))
    step = advance(hq)
    assert (step["action"], step["state"]) == ("wait", "superseded")
    assert published_percent(hq) == 100  # the operator's 3.0 target is left as published


def test_bad_rollout_commands_fail_clearly_and_change_nothing(tmp_path: Path) -> None:
    from tests.integration.hq_helpers import runner

    home = HqRepository.init(tmp_path / "hq").home
    bundle = policy_version(tmp_path, "2.0")
    cases = [
        (["start", str(home), str(bundle), "--stages", "5,25"], "bad rollout plan"),
        (["start", str(home), str(bundle), "--stages", "five"], "bad rollout plan"),
        (["start", str(home), str(tmp_path / "missing")], "bundle rejected"),
        (["advance", str(home), "nlu"], "no rollout of 'nlu' on channel 'stable'"),
        (["rollback", str(home), "nlu"], "no rollout of 'nlu' on channel 'stable'"),
    ]
    for args, message in cases:
        result = runner.invoke(kiosk_cli, ["hq", "rollout", *args])
        assert result.exit_code == 1, args
        assert message in result.output, (args, result.output)
    assert cli_lines("hq", "rollout", "status", str(home)) == []
    assert HqRepository(home).published_target("policy") is None
