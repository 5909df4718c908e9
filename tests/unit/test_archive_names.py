"""Archive member names the file system cannot take are refused as unsafe, not raised as OSError (found by fuzzing)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from bundles.archive import unpack_bundle
from sync.errors import UnpackError


@pytest.mark.parametrize("name", ["x" * 300, "a/" * 600 + "b", "é" * 200], ids=["component", "path", "utf8-bytes"])
def test_overlong_member_names_are_unpack_errors(tmp_path: Path, name: str) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    archive = tmp_path / "b.tar"
    archive.write_bytes(buffer.getvalue())
    with pytest.raises(UnpackError, match="name too long"):
        unpack_bundle(archive, tmp_path / "stage")
    assert list((tmp_path / "stage").iterdir()) == []  # nothing left behind
