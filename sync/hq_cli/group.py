"""The ``kiosk hq`` group: every HQ command group, in the order ``kiosk hq --help`` lists them."""

from __future__ import annotations

import typer

from sync.hq_cli import commands, repository, rollout, train


def register(app: typer.Typer) -> None:
    """Add ``kiosk hq …`` to the ``kiosk`` command (:mod:`kiosk.cli.main`)."""
    hq_app = typer.Typer(no_args_is_help=True, help="HQ: the signed update repository.")
    repository.register(hq_app)  # kiosk hq init, add, publish, resign, serve, fleet
    commands.register(hq_app)  # kiosk hq enrol, revoke, kiosks, labels, add-user
    train.register(hq_app)  # kiosk hq train
    rollout.register(hq_app)  # kiosk hq rollout start, advance, status, rollback
    app.add_typer(hq_app, name="hq")
