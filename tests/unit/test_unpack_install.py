"""Unpacking checks every file against the manifest while writing it; installing is a rename, not a copy."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from bundles import (
    ActivationError,
    BundleCorruptError,
    BundleError,
    BundleInvalidError,
    BundleMissingError,
    UnpackError,
    activate,
    active_manifest,
    install_unpacked,
    installed_dir,
    pack_bundle,
    unpack_bundle,
    write_manifest,
)


def _bundle(tmp: Path, version: str = "1", text: str = "hello") -> Path:
    directory = tmp / f"src-{version}-{text}"
    directory.mkdir()
    (directory / "a.txt").write_text(text)
    (directory / "sub").mkdir()
    (directory / "sub" / "b.bin").write_bytes(b"\x01" * 64)
    write_manifest(directory, name="demo", kind="policy", version=version)
    return directory


def _tar(path: Path, members: list[tuple[str, bytes]]) -> Path:
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _members(bundle: Path) -> dict[str, bytes]:
    return {
        "manifest.json": (bundle / "manifest.json").read_bytes(),
        "a.txt": (bundle / "a.txt").read_bytes(),
        "sub/b.bin": (bundle / "sub" / "b.bin").read_bytes(),
    }


def _swap_one_byte(data: bytes) -> bytes:
    return bytes([data[0] ^ 0xFF]) + data[1:]


CASES = [
    (
        "same-size-tamper",
        lambda m: [(k, _swap_one_byte(v) if k == "a.txt" else v) for k, v in m.items()],
        BundleCorruptError,
    ),
    ("longer-file", lambda m: [(k, v + b"!" if k == "a.txt" else v) for k, v in m.items()], BundleCorruptError),
    ("missing-file", lambda m: [(k, v) for k, v in m.items() if k != "sub/b.bin"], BundleMissingError),
    ("extra-file", lambda m: [*m.items(), ("extra.txt", b"x")], BundleInvalidError),
    (
        "manifest-last",
        lambda m: [*[(k, v) for k, v in m.items() if k != "manifest.json"], ("manifest.json", m["manifest.json"])],
        UnpackError,
    ),
    ("no-manifest", lambda m: [], BundleMissingError),
    ("bad-manifest", lambda m: [("manifest.json", b"{not json"), *list(m.items())[1:]], BundleInvalidError),
    ("manifest-twice", lambda m: [*m.items(), ("manifest.json", m["manifest.json"])], BundleError),
]


@pytest.mark.parametrize(("members", "error"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_a_damaged_archive_is_refused_while_unpacking_and_leaves_nothing(
    tmp_path: Path, members: object, error: type[Exception]
) -> None:
    bundle = _bundle(tmp_path)
    archive = _tar(tmp_path / "b.tar", members(_members(bundle)))  # type: ignore[operator]
    with pytest.raises(error):
        unpack_bundle(archive, tmp_path / "staging")
    assert list((tmp_path / "staging").iterdir()) == []


def test_install_renames_the_unpacked_folder_into_place(tmp_path: Path) -> None:
    state = tmp_path / "state"
    archive = tmp_path / "b.tar"
    pack_bundle(_bundle(tmp_path), archive)
    staging, manifest = unpack_bundle(archive, state / "sync" / "staging")
    inode = (staging / "sub" / "b.bin").stat().st_ino
    install_unpacked(staging, manifest, state)
    target = installed_dir(state, "demo", "1")
    assert not staging.exists()
    assert (target / "sub" / "b.bin").stat().st_ino == inode  # the same file: renamed, not copied
    activate(state, "demo", "1")
    assert json.loads((target / "manifest.json").read_text())["version"] == "1"
    assert active_manifest(state, "demo").version == "1"  # type: ignore[union-attr]


def test_install_keeps_an_intact_copy_and_refuses_other_content(tmp_path: Path) -> None:
    state = tmp_path / "state"
    first, other = tmp_path / "1.tar", tmp_path / "other.tar"
    pack_bundle(_bundle(tmp_path), first)
    pack_bundle(_bundle(tmp_path, "1", "other content, same version"), other)
    staging, manifest = unpack_bundle(first, state / "sync" / "staging")
    install_unpacked(staging, manifest, state)
    staging, manifest = unpack_bundle(first, state / "sync" / "staging")
    assert install_unpacked(staging, manifest, state).files == manifest.files
    assert not staging.exists()
    staging, manifest = unpack_bundle(other, state / "sync" / "staging")
    with pytest.raises(ActivationError, match="other content"):
        install_unpacked(staging, manifest, state)
    assert (installed_dir(state, "demo", "1") / "a.txt").read_text() == "hello"
