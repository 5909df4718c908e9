"""A real HQ server (uvicorn on port 0, in a thread) and kiosks provisioned against it, as at installation."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from bundles.manifest import write_manifest
from kiosk.assembly import HealthChecks
from kiosk.cli import app as kiosk_cli
from kiosk.config import DEFAULT_POLICY_DIR
from sync.agent import SyncAgent, load_config
from sync.hq import HqRepository
from sync.hq.server import create_hq_app
from sync.hq_cli import store_url

runner = CliRunner()


@dataclass
class Hq:
    home: Path
    base: str
    store: str


def cli(*args: str, stdin: str | None = None) -> dict[str, Any]:
    """Run ``kiosk …`` in-process; its last JSON line (exit status 0 asserted)."""
    result = runner.invoke(kiosk_cli, list(args), input=stdin)
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    return dict(json.loads(lines[-1])) if lines else {}


def cli_lines(*args: str) -> list[dict[str, Any]]:
    """Run ``kiosk …`` in-process; every JSON line it printed."""
    result = runner.invoke(kiosk_cli, list(args))
    assert result.exit_code == 0, result.output
    return [json.loads(x) for x in result.stdout.splitlines() if x.startswith("{")]


@contextmanager
def running_hq(home: Path, store: str, users: Mapping[str, str] | None = None) -> Iterator[Hq]:
    """A fresh HQ repository with its store named in hq.json, served on a free loopback port.

    ``users``: HQ operators (name -> password) created before it serves.
    """
    import uvicorn

    HqRepository.init(home)
    settings = json.loads((home / "hq.json").read_text())
    (home / "hq.json").write_text(json.dumps(settings | {"db_url": store}))
    for name, password in (users or {}).items():
        cli("hq", "add-user", str(home), name, "--password-stdin", stdin=password + "\n")
    app = create_hq_app(home, db_url=store_url(home, ""))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("HQ server did not start")
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Hq(home, f"http://127.0.0.1:{port}", store)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        app.state.hq_db.close()


def provision_kiosk(state: Path, hq: Hq, kiosk_id: str, branch: str) -> SyncAgent:
    """``kiosk sync init`` and ``kiosk hq enrol``; the agent checks bundles like a real kiosk's."""
    out = cli(
        "sync", "init", str(hq.home / "signed" / "root.json"), "--url", hq.base, "--kiosk-id", kiosk_id,
        "--branch", branch, "--report-url", f"{hq.base}/api/report", "--state-dir", str(state),
        "--health-window-s", "0",
    )  # fmt: skip
    cli("hq", "enrol", str(hq.home), "--kiosk-id", kiosk_id, "--public-key", out["public_key_file"])
    return SyncAgent(state, load_config(state), checkers=HealthChecks())


def cycle(agent: SyncAgent) -> None:
    """One poll of a kiosk's agent as ``kiosk sync run`` does it: sync, watch, report, upload."""
    result = agent.sync_once()
    agent.watch()
    agent.report(result)
    agent.upload()


def policy_version(tmp: Path, version: str, *, broken: bool = False) -> Path:
    """The default policy under a new version; ``broken``: its rates file does not parse (activation fails)."""
    directory = tmp / f"policy-{version}"
    shutil.copytree(DEFAULT_POLICY_DIR, directory)
    if broken:
        (directory / "rates.yaml").write_text("rates: [unclosed\n", encoding="utf-8")
    write_manifest(directory, name="policy", kind="policy", version=version)
    return directory
