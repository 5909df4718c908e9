"""``kiosk hq init|add|publish|resign|serve|fleet``: the signed TUF repository, its server and the fleet.

Registered on the ``kiosk hq`` group by :func:`register`. python-tuf and the
web server are imported inside the commands, so ``kiosk`` starts fast.
"""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from sync.hq_cli.options import DbUrlOpt, HomeArg, store_url
from sync.hq_cli.output import fail, print_json

OfflineOption = Annotated[
    Path | None, typer.Option("--offline-keys", help="Folder of the root and targets keys (offline media).")
]


def init(  # noqa: PLR0917 - typer maps parameters to options
    home: HomeArg,
    offline_keys: OfflineOption = None,
    root_keys: Annotated[int, typer.Option(help="Number of root keys.")] = 1,
    root_threshold: Annotated[int, typer.Option(help="Root keys that must sign.")] = 1,
    targets_keys: Annotated[int, typer.Option(help="Number of targets keys.")] = 1,
    targets_threshold: Annotated[int, typer.Option(help="Targets keys that must sign.")] = 1,
) -> None:
    """Create keys and an empty signed repository."""
    from sync.errors import BundleError, SyncError
    from sync.hq import HqRepository, RoleKeys

    keys = {"root": RoleKeys(root_keys, root_threshold), "targets": RoleKeys(targets_keys, targets_threshold)}
    try:
        repo = HqRepository.init(home, keys=keys, offline_keys=offline_keys)
    except (SyncError, BundleError) as err:
        raise fail(str(err)) from err
    print_json(
        {"home": str(home), "root": str(repo.home / "signed" / "root.json"), "offline_keys": str(repo.offline_keys)}
    )


def add(
    home: HomeArg,
    bundle: Annotated[Path, typer.Argument(help="Bundle directory (with manifest.json).")],
    branches: Annotated[str, typer.Option(help="Comma-separated branch codes it is for.")] = "",
    percent: Annotated[int | None, typer.Option(help="Rollout share of the fleet, 0-100.")] = None,
    channel: Annotated[str, typer.Option(help="Release channel.")] = "stable",
) -> None:
    """Stage a bundle as a target (published by `kiosk hq publish`)."""
    from sync.errors import BundleError, SyncError
    from sync.hq import HqRepository

    branch_list = tuple(b.strip() for b in branches.split(",") if b.strip())
    try:
        added = HqRepository(home).add(bundle, channel=channel, branches=branch_list, percent=percent)
    except (SyncError, BundleError) as err:
        raise fail(str(err)) from err
    print_json(added)


def publish(home: HomeArg, offline_keys: OfflineOption = None) -> None:
    """Sign staged targets, then snapshot and timestamp."""
    from sync.errors import BundleError, SyncError
    from sync.hq import HqRepository

    try:
        result = HqRepository(home, offline_keys=offline_keys).publish()
    except (SyncError, BundleError) as err:
        raise fail(str(err)) from err
    print_json(result.__dict__)


def resign(home: HomeArg) -> None:
    """Re-sign snapshot and timestamp when they near expiry (online keys only; run from cron)."""
    from sync.errors import BundleError, SyncError
    from sync.hq import HqRepository

    try:
        result = HqRepository(home).resign()
    except (SyncError, BundleError) as err:
        raise fail(str(err)) from err
    print_json(result.__dict__)


def serve(
    home: HomeArg,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8700,
    db_url: DbUrlOpt = "",
    advance_every_s: Annotated[
        float, typer.Option(help="Run `kiosk hq rollout advance` every N seconds (0: never; needs the targets key).")
    ] = 0.0,
) -> None:
    """Serve the repository, receive kiosk reports, and the operators' console (/fleet, /rollout, /labels, /kpis)."""
    import uvicorn

    from sync.errors import HqError
    from sync.hq import advance_every, create_hq_app

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: None)
    url = store_url(home, db_url)
    try:
        app = create_hq_app(home, db_url=url)
    except HqError as err:
        raise fail(str(err)) from err
    stop = threading.Event()
    if advance_every_s > 0:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        threading.Thread(target=advance_every, args=(home, url, advance_every_s, stop), daemon=True).start()
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        stop.set()


def fleet(home: HomeArg, db_url: DbUrlOpt = "") -> None:
    """Print the fleet: one JSON line per kiosk (versions, last seen, health, rejections)."""
    from sync.errors import HqError
    from sync.hq import HqDB

    try:
        db = HqDB(store_url(home, db_url))
    except HqError as err:
        raise fail(str(err)) from err
    try:
        for row in db.fleet():
            print_json(row)
    finally:
        db.close()


def register(hq_app: typer.Typer) -> None:
    """Add these commands to ``kiosk hq``."""
    hq_app.command("init")(init)
    hq_app.command("add")(add)
    hq_app.command("publish")(publish)
    hq_app.command("resign")(resign)
    hq_app.command("serve")(serve)
    hq_app.command("fleet")(fleet)
