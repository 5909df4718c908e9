"""``kiosk sync …``: the kiosk's sync agent (HQ's commands, ``kiosk hq …``, live in :mod:`sync.hq_cli`).

python-tuf and the models are imported inside the commands,
so ``kiosk`` starts fast (the TUF conformance suite runs it many times).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from kiosk.config import default_state_dir
from sync.hq_cli import fail, print_json

sync_app = typer.Typer(no_args_is_help=True, help="The kiosk's sync agent.")
tuf_app = typer.Typer(no_args_is_help=True, help="TUF client following the tuf-conformance CLIENT-CLI.")
sync_app.add_typer(tuf_app, name="tuf-client")

StateOption = Annotated[
    Path,
    typer.Option("--state-dir", envvar="KIOSK_STATE_DIR", help="State directory (bundles, kiosk.db)."),
]
_DEFAULT_STATE = default_state_dir()


# -- the kiosk's agent ------------------------------------------------------------------------


def _checkers() -> Any:
    """The agent's health check per kind: the kind registry's load and golden check (every kind)."""
    from kiosk.assembly import HealthChecks, LoadOptions
    from kiosk.config import Settings

    settings = Settings()
    return HealthChecks(
        LoadOptions(
            model_threads=settings.model_threads,
            llm_threads=settings.llm_threads,
            llm_budget_s=settings.llm_budget_s,
            llm_nice=settings.llm_nice,
        )
    )


def _agent(state_dir: Path) -> Any:
    from sync.agent import SyncAgent, load_config

    return SyncAgent(state_dir, load_config(state_dir), checkers=_checkers())


@sync_app.command("init")
def sync_init(  # noqa: PLR0917 - typer maps parameters to options
    root: Annotated[Path, typer.Argument(help="Trusted root.json from HQ (provisioning).")],
    url: Annotated[str, typer.Option(help="Repository base URL (with /metadata/ and /targets/ below it).")],
    kiosk_id: Annotated[str, typer.Option(help="This kiosk's id.")],
    state_dir: StateOption = _DEFAULT_STATE,
    branch: Annotated[str, typer.Option(help="This kiosk's branch.")] = "",
    channel: Annotated[str, typer.Option(help="Release channel.")] = "stable",
    report_url: Annotated[str, typer.Option(help="Where to POST status reports.")] = "",
    intake_url: Annotated[str, typer.Option(help="Where to POST labels and counts (default: beside reports).")] = "",
    poll_s: Annotated[float, typer.Option(help="Seconds between polls.")] = 300.0,
    health_window_s: Annotated[float, typer.Option(help="Watch after activation, seconds.")] = 60.0,
    max_backoff_s: Annotated[float, typer.Option(help="Longest wait between polls while HQ fails.")] = 3600.0,
) -> None:
    """Provision this kiosk for sync: trusted root, HQ address and its device key (printed for HQ to enrol)."""
    from pydantic import ValidationError

    from bundles import atomic_write_bytes
    from sync.agent import AgentConfig, create_identity, identity_dir, save_config, trusted_root_path

    base = url.rstrip("/")
    try:
        config = AgentConfig(
            metadata_url=f"{base}/metadata/",
            targets_url=f"{base}/targets/",
            kiosk_id=kiosk_id,
            branch=branch,
            channel=channel,
            report_url=report_url,
            intake_url=intake_url,
            poll_s=poll_s,
            health_window_s=health_window_s,
            max_backoff_s=max_backoff_s,
        )
    except ValidationError as err:
        raise fail(str(err)) from err
    try:
        data = root.read_bytes()
        json.loads(data)
    except (OSError, ValueError) as err:
        raise fail(f"cannot read trusted root {root}: {err}") from err
    atomic_write_bytes(trusted_root_path(state_dir), data)
    save_config(state_dir, config)
    created, public_key = create_identity(state_dir)
    key_file = identity_dir(state_dir) / "device.pub"
    print_json({**config.model_dump(), "public_key": public_key, "public_key_file": str(key_file), "new_key": created})


@sync_app.command("run")
def sync_run(
    state_dir: StateOption = _DEFAULT_STATE,
    once: Annotated[bool, typer.Option("--once", help="One cycle (and health windows), then exit.")] = False,
) -> None:
    """Run the sync agent (lower priority) until SIGINT/SIGTERM."""
    from sync.errors import BundleError, SyncError

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        agent = _agent(state_dir)
    except (SyncError, BundleError) as err:
        raise fail(str(err)) from err
    if once:
        result = agent.sync_once()
        agent.watch()
        agent.report(result)
        uploaded = agent.upload()
        print_json({**result.__dict__, "uploaded": uploaded})
        raise typer.Exit(0 if result.ok else 1)
    os.nice(5)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    from kiosk.sdnotify import Watchdog

    watchdog = Watchdog()
    watchdog.start()
    try:
        agent.run(stop)
    finally:
        watchdog.stop()


@sync_app.command("now")
def sync_now(state_dir: StateOption = _DEFAULT_STATE) -> None:
    """Ask the running agent to sync at once."""
    from bundles import request_sync_now

    request_sync_now(state_dir)


@sync_app.command("status")
def sync_status(state_dir: StateOption = _DEFAULT_STATE) -> None:
    """Active versions, the agent's journal, the latest history and items waiting for HQ."""
    from bundles import active_manifest, active_root, sync_history
    from sync.agent import load_state

    root = active_root(state_dir)
    names = sorted(p.name for p in root.iterdir() if not p.name.startswith(".")) if root.is_dir() else []
    active = {n: m.version for n in names if (m := active_manifest(state_dir, n)) is not None}
    history = [e.__dict__ for e in sync_history(state_dir / "kiosk.db", limit=10)]
    from sync.agent import Outbox

    outbox = len(Outbox(state_dir))
    print_json({"active": active, "state": load_state(state_dir).model_dump(), "history": history, "outbox": outbox})


@sync_app.command("rollback")
def sync_rollback(name: str, state_dir: StateOption = _DEFAULT_STATE) -> None:
    """Switch bundle NAME back to its previous version."""
    from sync.errors import BundleError, SyncError

    try:
        version = _agent(state_dir).rollback(name)
    except (SyncError, BundleError) as err:
        raise fail(str(err)) from err
    print_json({"name": name, "active": version})


# -- tuf-conformance client ----------------------------------------------------------------


@tuf_app.callback()
def tuf_client(  # noqa: PLR0917 - typer maps parameters to options
    ctx: typer.Context,
    metadata_dir: Annotated[Path, typer.Option(help="Trusted metadata folder.")],
    metadata_url: Annotated[str, typer.Option(help="Repository metadata URL.")] = "",
    target_name: Annotated[str, typer.Option(help="Target path to download.")] = "",
    target_base_url: Annotated[str, typer.Option(help="Repository targets URL.")] = "",
    target_dir: Annotated[Path | None, typer.Option(help="Where downloaded targets go.")] = None,
) -> None:
    """Options shared by init, refresh and download."""
    ctx.obj = {
        "metadata_dir": metadata_dir,
        "metadata_url": metadata_url,
        "target_name": target_name,
        "target_base_url": target_base_url,
        "target_dir": target_dir,
    }


def _tuf(ctx: typer.Context) -> Any:
    from sync.tufclient import TufClient

    opts = ctx.obj
    root = Path(opts["metadata_dir"]) / "root.json"
    return TufClient(Path(opts["metadata_dir"]), opts["metadata_url"], bootstrap=root.read_bytes())


@tuf_app.command("init")
def tuf_init(ctx: typer.Context, trusted_root: Path) -> None:
    """Trust TRUSTED_ROOT (copied into the metadata folder; no network)."""
    metadata_dir = Path(ctx.obj["metadata_dir"])
    try:
        metadata_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(trusted_root, metadata_dir / "root.json")
    except OSError as err:
        raise fail(str(err)) from err


@tuf_app.command("refresh")
def tuf_refresh(ctx: typer.Context) -> None:
    """Refresh top-level metadata; exit 1 on any failure."""
    from sync.errors import BundleError, SyncError

    try:
        _tuf(ctx).refresh()
    except (SyncError, BundleError, OSError) as err:
        raise fail(str(err)) from err


@tuf_app.command("download")
def tuf_download(ctx: typer.Context) -> None:
    """Refresh, then download --target-name into --target-dir (cached when unchanged)."""
    from urllib import parse

    from sync.errors import BundleError, SyncError

    opts = ctx.obj
    if not opts["target_name"] or opts["target_dir"] is None or not opts["target_base_url"]:
        raise fail("download needs --target-name, --target-base-url and --target-dir")
    target_dir = Path(opts["target_dir"])
    try:
        client = _tuf(ctx)
        client.refresh()
        info = client.target_info(opts["target_name"])
        if info is None:
            raise fail(f"no target {opts['target_name']!r}")
        final = target_dir / parse.quote(info.path, "")
        if client.cached(info, final):
            return
        result = client.download(info, opts["target_base_url"], target_dir / ".partial")
        os.replace(result.path, final)
    except (SyncError, BundleError, OSError) as err:
        raise fail(str(err)) from err
