"""A full disk during an update: the kiosk keeps the old version and recovers once there is room.

The state directory lives on a small tmpfs mounted for the test (root only;
CI runs as root). The agent, TUF client and HTTP server are real.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bundles.manifest import verify_bundle
from tests.integration.test_sync_faults import NEW, OLD, provision_kiosk


def mount(target: Path, size: str, *, remount: bool = False) -> bool:
    options = f"remount,size={size}" if remount else f"size={size}"
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)], capture_output=True, check=False, timeout=30
    )
    return done.returncode == 0


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    target = tmp_path / "small"
    target.mkdir()
    if not mount(target, "1m"):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield target
    subprocess.run(["umount", "-l", str(target)], check=False, timeout=30)


def test_disk_full_keeps_the_old_version_then_recovers(tmp_path: Path, small_disk: Path) -> None:
    kiosk = provision_kiosk(tmp_path, small_disk / "state", read_timeout_s=2)
    state = kiosk.state
    try:
        kiosk.publish(NEW, size=3_000_000)  # larger than the whole disk

        result = kiosk.agent().sync_once()
        assert not result.ok or result.rejected
        assert kiosk.active() == OLD
        verify_bundle(state / "bundles" / "demo" / OLD)  # the running version is whole
        assert not (state / "bundles" / "demo" / NEW).exists()
        assert not list((state / "sync" / "partial").glob("*"))  # the half download was freed
        assert "storage" in result.error or "space" in result.error

        assert mount(small_disk, "64m", remount=True)
        retry = kiosk.agent().sync_once()
        assert retry.activated == ("demo=2.0.0",)
        assert kiosk.active() == NEW
    finally:
        kiosk.server.close()
