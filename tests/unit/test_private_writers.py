"""The admin secret, the device token and exported labels are written atomically, owner-only."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kiosk.admin.context import load_secret
from kiosk.cli.admin import app as admin_cli
from kiosk.web.app import write_device_token


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def open_umask() -> Iterator[None]:
    """A permissive umask: the files must still come out 0600."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


def test_admin_secret_is_owner_only_and_kept(tmp_path: Path) -> None:
    secret = load_secret(tmp_path)
    path = tmp_path / "admin" / "secret"
    assert len(secret) >= 32
    assert _mode(path) == 0o600
    assert load_secret(tmp_path) == secret
    assert _leftovers(path.parent) == []


def test_device_token_is_owner_only_and_replaced_whole(tmp_path: Path) -> None:
    old = tmp_path / "device-token"
    old.write_text("an older, longer token from the last start", encoding="utf-8")
    old.chmod(0o644)
    path = write_device_token(tmp_path, "fresh")
    assert path.read_text(encoding="utf-8") == "fresh"
    assert _mode(path) == 0o600
    assert _leftovers(tmp_path) == []


def test_exported_labels_are_owner_only(tmp_path: Path) -> None:
    out = tmp_path / "out" / "labels.jsonl"
    result = CliRunner().invoke(admin_cli, ["export-labels", "--out", str(out), "--state-dir", str(tmp_path / "s")])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == ""
    assert _mode(out) == 0o600
    assert _leftovers(out.parent) == []
