"""The bundle format: manifests, verification, installation and activation."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bundles import (
    ActivationError,
    BundleCorruptError,
    BundleInvalidError,
    BundleMissingError,
    activate,
    active_dir,
    install_bundle,
    provision_seed,
    read_manifest,
    verify_bundle,
    write_manifest,
)


def make_bundle(root: Path, version: str = "1.0.0", content: bytes = b"hello", origin: str = "hq") -> Path:
    directory = root / f"src-{version}"
    (directory / "sub").mkdir(parents=True)
    (directory / "a.txt").write_bytes(content)
    (directory / "sub" / "b.bin").write_bytes(bytes(range(256)))
    write_manifest(directory, name="policy", kind="policy", version=version, origin=origin)
    return directory


def test_manifest_round_trip(tmp_path: Path) -> None:
    directory = make_bundle(tmp_path)
    manifest = verify_bundle(directory, expect_kind="policy")
    assert [f.path for f in manifest.files] == ["a.txt", "sub/b.bin"]
    assert manifest.file("a.txt").size == 5
    assert read_manifest(directory) == manifest


@pytest.mark.parametrize(
    ("damage", "error"),
    [
        (lambda d: (d / "a.txt").write_bytes(b"hellO"), BundleCorruptError),
        (lambda d: (d / "a.txt").write_bytes(b"hel"), BundleCorruptError),
        (lambda d: (d / "a.txt").unlink(), BundleMissingError),
        (lambda d: (d / "manifest.json").write_text("{not json"), BundleInvalidError),
        (lambda d: (d / "manifest.json").unlink(), BundleMissingError),
    ],
    ids=["tampered", "truncated", "file-missing", "manifest-garbage", "manifest-missing"],
)
def test_damaged_bundles_are_rejected(tmp_path: Path, damage: object, error: type[Exception]) -> None:
    directory = make_bundle(tmp_path)
    damage(directory)  # type: ignore[operator]
    with pytest.raises(error):
        verify_bundle(directory)


def test_manifest_paths_cannot_escape(tmp_path: Path) -> None:
    directory = make_bundle(tmp_path)
    data = json.loads((directory / "manifest.json").read_text())
    data["files"][0]["path"] = "../../etc/passwd"
    (directory / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(BundleInvalidError, match="leaves the bundle"):
        read_manifest(directory)


def test_wrong_kind_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(BundleInvalidError, match="expected 'nlu'"):
        verify_bundle(make_bundle(tmp_path), expect_kind="nlu")


def test_newer_manifest_schema_is_rejected(tmp_path: Path) -> None:
    directory = make_bundle(tmp_path)
    data = json.loads((directory / "manifest.json").read_text())
    data["schema_version"] = 99
    (directory / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(BundleInvalidError, match="newer"):
        read_manifest(directory)


def test_install_and_activate_swaps_the_symlink(tmp_path: Path) -> None:
    state = tmp_path / "state"
    install_bundle(make_bundle(tmp_path, "1.0.0", b"one"), state)
    install_bundle(make_bundle(tmp_path, "2.0.0", b"two"), state)
    activate(state, "policy", "1.0.0")
    assert (active_dir(state, "policy") or Path()).name == "1.0.0"
    activate(state, "policy", "2.0.0")
    current = active_dir(state, "policy")
    assert current is not None
    assert (current / "a.txt").read_bytes() == b"two"
    assert os.path.islink(state / "active" / "policy")
    assert not [p for p in (state / "active").iterdir() if p.name.startswith(".")]


def test_activating_a_missing_version_fails(tmp_path: Path) -> None:
    with pytest.raises(ActivationError):
        activate(tmp_path, "policy", "9.9.9")


def test_install_refuses_a_corrupt_source_and_leaves_nothing(tmp_path: Path) -> None:
    source = make_bundle(tmp_path)
    (source / "a.txt").write_bytes(b"xxxxx")
    state = tmp_path / "state"
    with pytest.raises(BundleCorruptError):
        install_bundle(source, state)
    assert not (state / "bundles" / "policy" / "1.0.0").exists()


def test_install_refuses_same_version_with_other_content(tmp_path: Path) -> None:
    state = tmp_path / "state"
    install_bundle(make_bundle(tmp_path / "x", "1.0.0", b"one"), state)
    with pytest.raises(ActivationError, match="other content"):
        install_bundle(make_bundle(tmp_path / "y", "1.0.0", b"two"), state)


def test_seeds_never_replace_hq_bundles(tmp_path: Path) -> None:
    state = tmp_path / "state"
    provision_seed(make_bundle(tmp_path / "a", "1.0.0", origin="seed"), state)
    assert (active_dir(state, "policy") or Path()).name == "1.0.0"
    provision_seed(make_bundle(tmp_path / "b", "1.1.0", origin="seed"), state)
    assert (active_dir(state, "policy") or Path()).name == "1.1.0"
    install_bundle(make_bundle(tmp_path / "c", "5.0.0", origin="hq"), state)
    activate(state, "policy", "5.0.0")
    provision_seed(make_bundle(tmp_path / "d", "1.2.0", origin="seed"), state)
    assert (active_dir(state, "policy") or Path()).name == "5.0.0"
