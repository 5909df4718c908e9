"""Pure logic of sync: targeting, poll schedule, health window, safe unpacking, journal round trip."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from bundles.archive import pack_bundle, unpack_bundle
from bundles.manifest import write_manifest
from sync.agent import AgentState, HealthWindow, PollSchedule
from sync.errors import UnpackError
from sync.targeting import BundleTarget, is_targeted, rollout_bucket


@pytest.mark.parametrize(
    ("target", "branch", "channel", "expected"),
    [
        (BundleTarget(name="policy", kind="policy", version="1"), "sh01", "stable", True),
        (BundleTarget(name="policy", kind="policy", version="1", channel="beta"), "sh01", "stable", False),
        (
            BundleTarget(name="policy", kind="policy", version="1", branches=("sh01",), percent=0),
            "sh01",
            "stable",
            True,
        ),
        (
            BundleTarget(name="policy", kind="policy", version="1", branches=("bj02",), percent=0),
            "sh01",
            "stable",
            False,
        ),
        (BundleTarget(name="policy", kind="policy", version="1", percent=0), "", "stable", False),
    ],
    ids=["everyone", "other-channel", "branch-listed", "branch-not-listed", "zero-percent"],
)
def test_targeting(target: BundleTarget, branch: str, channel: str, expected: bool) -> None:
    assert is_targeted(target, kiosk_id="k1", branch=branch, channel=channel) is expected


def test_rollout_is_stable_and_monotonic() -> None:
    kiosks = [f"kiosk-{i}" for i in range(1000)]
    share = {p: {k for k in kiosks if rollout_bucket(k, "nlu") < p} for p in (10, 50)}
    assert share[10] <= share[50]
    assert 50 < len(share[10]) < 150
    assert rollout_bucket("kiosk-1", "nlu") == rollout_bucket("kiosk-1", "nlu")


@pytest.mark.parametrize(
    ("oks", "expected"),
    [((True,), 300.0), ((False,), 600.0), ((False, False, False), 2400.0), ((False,) * 20, 3600.0)],
    ids=["online", "one-failure", "three-failures", "capped"],
)
def test_poll_schedule_backs_off(oks: tuple[bool, ...], expected: float) -> None:
    schedule = PollSchedule(period_s=300, jitter=0.2, max_backoff_s=3600)
    delay = 0.0
    for ok in oks:
        delay = schedule.next_delay(ok, rand=0.5)
    assert delay == expected


def test_poll_jitter_bounds() -> None:
    schedule = PollSchedule(period_s=100, jitter=0.2)
    assert schedule.next_delay(True, 0.0) == pytest.approx(80)
    assert schedule.next_delay(True, 0.999999) == pytest.approx(120, rel=1e-3)


@pytest.mark.parametrize(
    ("elapsed", "failed", "verdict"),
    [(0, False, "watching"), (59.9, False, "watching"), (60, False, "passed"), (5, True, "failed")],
    ids=["start", "almost", "done", "runtime-failed"],
)
def test_health_window(elapsed: float, failed: bool, verdict: str) -> None:
    assert HealthWindow(60).verdict(elapsed, failed=failed) == verdict


def _bundle(tmp: Path) -> Path:
    directory = tmp / "b"
    directory.mkdir()
    (directory / "a.txt").write_text("hello")
    (directory / "sub").mkdir()
    (directory / "sub" / "b.bin").write_bytes(b"\x00" * 10)
    write_manifest(directory, name="demo", kind="policy", version="1")
    return directory


def test_pack_is_deterministic_and_unpacks(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path)
    one, two = tmp_path / "1.tar", tmp_path / "2.tar"
    pack_bundle(bundle, one)
    pack_bundle(bundle, two)
    assert one.read_bytes() == two.read_bytes()
    out, manifest = unpack_bundle(one, tmp_path / "staging")
    assert (manifest.name, manifest.version) == ("demo", "1")
    assert (out / "sub" / "b.bin").read_bytes() == b"\x00" * 10


def _evil_tar(path: Path, kind: str) -> None:
    with tarfile.open(path, "w") as tar:
        info = tarfile.TarInfo("manifest.json")
        if kind == "absolute":
            info.name = "/etc/passwd"
        elif kind == "dotdot":
            info.name = "../escape.txt"
        elif kind == "symlink":
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        elif kind == "device":
            info.type = tarfile.CHRTYPE
        data = b"x" * (2000 if kind == "big" else 10)
        info.size = len(data) if info.isreg() else 0
        tar.addfile(info, io.BytesIO(data) if info.isreg() else None)


@pytest.mark.parametrize("kind", ["absolute", "dotdot", "symlink", "device", "big", "garbage"])
def test_unsafe_archives_are_refused(tmp_path: Path, kind: str) -> None:
    archive = tmp_path / "evil.tar"
    if kind == "garbage":
        archive.write_bytes(b"not a tar at all" * 100)
    else:
        _evil_tar(archive, kind)
    with pytest.raises(UnpackError):
        unpack_bundle(archive, tmp_path / "staging", max_total=1000)
    assert not list((tmp_path / "staging").iterdir())
    assert not (tmp_path / "escape.txt").exists()


def test_agent_state_round_trip() -> None:
    state = AgentState()
    state.bundle("nlu").rejected.append("2")
    assert AgentState.model_validate_json(state.model_dump_json()) == state
