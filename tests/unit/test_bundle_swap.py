"""Swapping a freshly built bundle folder in: a process killed at any step leaves a valid bundle."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bundles import (
    BundleMissingError,
    read_manifest,
    recover_dir,
    staging_dir,
    swap_in_dir,
    verify_bundle,
    write_manifest,
)

# The child builds version 2.0.0 over 1.0.0 and dies (os._exit, like kill -9) at the step named by argv[2].
CHILD = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    import bundles.manifest as bundle

    out, step = Path(sys.argv[1]), sys.argv[2]
    staging = bundle.staging_dir(out)
    (staging / "model.bin").write_bytes(b"new model " * 100)
    bundle.write_manifest(staging, name="nlu", kind="nlu", version="2.0.0")
    real_rename = os.rename
    renames = []

    def no_exchange(a, b):
        raise OSError(22, "exchange not supported here")

    def rename(a, b):
        renames.append((a, b))
        real_rename(a, b)
        if step == "fallback-after-aside" and len(renames) == 1:
            os._exit(9)
        if step == "fallback-after-new-in" and len(renames) == 2:
            os._exit(9)

    if step.startswith("fallback"):
        bundle._exchange = no_exchange
        os.rename = rename
    if step == "after-exchange":
        bundle.shutil.rmtree = lambda *a, **k: os._exit(9)
    bundle.swap_in_dir(staging, out)
    """
)


def build(out: Path, version: str, content: bytes) -> None:
    staging = staging_dir(out)
    (staging / "model.bin").write_bytes(content)
    write_manifest(staging, name="nlu", kind="nlu", version=version)
    swap_in_dir(staging, out)


def test_a_build_replaces_the_old_bundle_and_leaves_nothing_behind(tmp_path: Path) -> None:
    out = tmp_path / "bundles" / "nlu"
    build(out, "1.0.0", b"old")
    assert verify_bundle(out).version == "1.0.0"
    build(out, "2.0.0", b"new")
    assert verify_bundle(out).version == "2.0.0"
    assert (out / "model.bin").read_bytes() == b"new"
    assert sorted(p.name for p in out.parent.iterdir()) == ["nlu"]


@pytest.mark.parametrize(
    ("step", "version_after_crash"),
    [
        ("after-exchange", "2.0.0"),  # swapped atomically; the old copy was not yet removed
        ("fallback-after-aside", None),  # no exchange on this file system: old folder renamed aside, then killed
        ("fallback-after-new-in", "2.0.0"),
        ("none", "2.0.0"),
    ],
    ids=["exchange-then-killed", "aside-then-killed", "renamed-in-then-killed", "not-killed"],
)
def test_a_build_killed_at_any_step_leaves_a_valid_bundle(
    tmp_path: Path, step: str, version_after_crash: str | None
) -> None:
    out = tmp_path / "nlu"
    build(out, "1.0.0", b"old model " * 100)
    root = Path(__file__).resolve().parents[2]
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(out), step], cwd=root, capture_output=True, timeout=60, check=False
    )
    assert child.returncode == (0 if step == "none" else 9), child.stderr.decode()
    if version_after_crash is None:
        # Between the two renames nothing is at the bundle's path; the next build or reader puts the old one back.
        with pytest.raises(BundleMissingError):
            read_manifest(out)
        recover_dir(out)
        assert verify_bundle(out).version == "1.0.0"
    else:
        assert verify_bundle(out).version == version_after_crash
    # The next build starts clean from whatever the crash left.
    build(out, "3.0.0", b"third")
    assert verify_bundle(out).version == "3.0.0"
    assert sorted(p.name for p in out.parent.iterdir()) == ["nlu"]


def test_a_failed_rename_in_the_fallback_puts_the_old_bundle_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from bundles import manifest as bundle

    out = tmp_path / "bundles" / "nlu"
    build(out, "1.0.0", b"old")
    staging = staging_dir(out)
    (staging / "model.bin").write_bytes(b"new")
    write_manifest(staging, name="nlu", kind="nlu", version="2.0.0")
    real_rename = os.rename

    def no_exchange(a: Path, b: Path) -> None:
        raise OSError(22, "exchange not supported here")

    def rename(a: object, b: object) -> None:
        if Path(str(a)) == staging:
            raise OSError(28, "No space left on device")
        real_rename(a, b)  # type: ignore[arg-type]

    monkeypatch.setattr(bundle, "_exchange", no_exchange)
    monkeypatch.setattr(bundle.os, "rename", rename)
    with pytest.raises(OSError, match="No space"):
        swap_in_dir(staging, out)
    monkeypatch.undo()
    assert verify_bundle(out).version == "1.0.0"
    assert (out / "model.bin").read_bytes() == b"old"
