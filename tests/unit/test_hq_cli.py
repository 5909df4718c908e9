"""HQ's commands (sync/hq_cli/) as the `kiosk` command registers them: all there, in order, cheap to import."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import typer
from typer.main import get_command

from sync.hq_cli import register
from sync.hq_cli.train import train

ROOT = Path(__file__).resolve().parents[2]
HQ_COMMANDS = [
    "init",
    "add",
    "publish",
    "resign",
    "serve",
    "fleet",
    "enrol",
    "revoke",
    "kiosks",
    "labels",
    "add-user",
    "train",
    "rollout",
]


def _hq_group() -> typer.core.TyperGroup:
    app = typer.Typer()
    app.command("noop")(lambda: None)  # a second command, so typer keeps `hq` as a named group
    register(app)
    root = get_command(app)
    assert isinstance(root, typer.core.TyperGroup)
    hq = root.commands["hq"]
    assert isinstance(hq, typer.core.TyperGroup)
    return hq


def test_register_adds_every_hq_command_in_the_order_help_lists_them() -> None:
    hq = _hq_group()
    assert list(hq.commands) == HQ_COMMANDS
    rollout = hq.commands["rollout"]
    assert isinstance(rollout, typer.core.TyperGroup)
    assert list(rollout.commands) == ["start", "advance", "status", "rollback"]


def test_train_defaults_point_at_the_repository_not_the_package_folder() -> None:
    # They pointed inside the kiosk package (kiosk/edge_models/data, kiosk/build/bundles/nlu) before the move.
    params = inspect.signature(train).parameters
    assert params["data"].default == ROOT / "edge_models" / "data"
    assert (ROOT / "edge_models" / "data").is_dir()
    assert params["baseline"].default == ROOT / "build" / "bundles" / "nlu"


def test_the_kiosk_command_does_not_import_hq_until_an_hq_command_runs() -> None:
    # sync.hq loads python-tuf, the web server and the store; every `kiosk` command imports the CLI.
    code = "import sys, kiosk.cli; print(sorted(m for m in ('sync.hq', 'tuf', 'fastapi') if m in sys.modules))"
    env = {"PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, check=True)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
