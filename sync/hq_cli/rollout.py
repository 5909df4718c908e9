"""``kiosk hq rollout start|advance|status|rollback``: staged rollouts that halt on unhealthy canaries.

The logic is :mod:`sync.hq.rollout`; why: ``docs/adr/0019-staged-rollout.md``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sync.hq_cli.options import DbUrlOpt, HomeArg, store_url
from sync.hq_cli.output import fail, print_json

if TYPE_CHECKING:
    from sync.hq import HqDB, HqRepository, RolloutPlan

rollout_app = typer.Typer(no_args_is_help=True, help="Staged rollouts: widen while canaries are healthy, else halt.")

ChannelOpt = Annotated[str, typer.Option(help="Release channel.")]
OfflineOpt = Annotated[
    Path | None, typer.Option("--offline-keys", help="Folder of the targets key (re-signing a stage needs it).")
]


@contextmanager
def _open(home: Path, db_url: str, offline_keys: Path | None = None) -> Iterator[tuple[HqRepository, HqDB]]:
    """The repository and the store, closed after; an HQ error becomes exit status 1."""
    from sync.errors import HqError
    from sync.hq import HqDB, HqRepository

    try:
        repo = HqRepository(home, offline_keys=offline_keys)
        db = HqDB(store_url(home, db_url))
    except HqError as err:
        raise fail(str(err)) from err
    try:
        yield repo, db
    except HqError as err:
        raise fail(str(err)) from err
    finally:
        db.close()


def parse_plan(stages: str, branches: str, max_failure_rate: float, min_reports: int, soak_s: float) -> RolloutPlan:
    """A rollout plan from command-line text ("5,25,100", "sh01,sh02").

    Raises:
        typer.Exit: the stages are not numbers or the plan is invalid.
    """
    from pydantic import ValidationError

    from sync.hq import RolloutPlan

    try:
        return RolloutPlan(
            stages=tuple(int(s) for s in stages.split(",") if s.strip()),
            branches=tuple(b.strip() for b in branches.split(",") if b.strip()),
            max_failure_rate=max_failure_rate,
            min_reports=min_reports,
            min_soak_s=soak_s,
        )
    except (ValueError, ValidationError) as err:
        raise fail(f"bad rollout plan: {err}") from err


StagesOpt = Annotated[str, typer.Option(help="Fleet share per stage, %, rising to 100.")]
BranchesOpt = Annotated[str, typer.Option(help="Canary branches (comma-separated): they get it from stage one.")]
RateOpt = Annotated[float, typer.Option(help="Halt when failed / (on new + failed) kiosks exceeds this (0-1).")]
ReportsOpt = Annotated[int, typer.Option(help="Healthy reports on the new version a stage needs to widen.")]
SoakOpt = Annotated[
    float,
    typer.Option(help="Least seconds a stage runs before widening (at least the agents' health window, 60 s)."),
]


@rollout_app.command("start")
def start(  # noqa: PLR0917 - typer maps parameters to options
    home: HomeArg,
    bundle: Annotated[Path, typer.Argument(help="The bundle to roll out (leads the rollout).")],
    with_: Annotated[
        list[Path] | None, typer.Option("--with", help="A bundle that travels with it (e.g. its policy).")
    ] = None,
    stages: StagesOpt = "5,25,100",
    branches: BranchesOpt = "",
    max_failure_rate: RateOpt = 0.2,
    min_reports: ReportsOpt = 1,
    soak_s: SoakOpt = 120.0,
    channel: ChannelOpt = "stable",
    offline_keys: OfflineOpt = None,
    db_url: DbUrlOpt = "",
) -> None:
    """Publish a bundle at the first stage (and its canary branches) and record the rollout."""
    from sync.hq import start_rollout

    plan = parse_plan(stages, branches, max_failure_rate, min_reports, soak_s)
    with _open(home, db_url, offline_keys) as (repo, db):
        status = start_rollout(repo, db, [bundle, *(with_ or [])], plan, channel=channel)
    print_json(_summary(asdict(status)))


@rollout_app.command("advance")
def advance(
    home: HomeArg,
    name: Annotated[str | None, typer.Argument(help="Bundle name; default: every running rollout.")] = None,
    channel: ChannelOpt = "stable",
    offline_keys: OfflineOpt = None,
    db_url: DbUrlOpt = "",
) -> None:
    """One controller step: widen a healthy rollout, halt an unhealthy one, or wait (one JSON line each)."""
    from sync.hq import advance_all, advance_rollout

    with _open(home, db_url, offline_keys) as (repo, db):
        steps = advance_all(repo, db) if name is None else [advance_rollout(repo, db, name, channel=channel)]
        for status, verdict in steps:
            print_json({**_summary(asdict(status)), "action": verdict.action, "why": verdict.reason})


@rollout_app.command("status")
def status(
    home: HomeArg,
    name: Annotated[str | None, typer.Argument(help="Bundle name; default: every rollout.")] = None,
    channel: Annotated[str | None, typer.Option(help="Only this channel.")] = None,
    kiosks: Annotated[bool, typer.Option(help="List every reporting kiosk's state too.")] = False,
    db_url: DbUrlOpt = "",
) -> None:
    """Each rollout: stage, share, state and reason, kiosks on the new / old version, failure rate."""
    from sync.hq import rollout_status

    with _open(home, db_url) as (_repo, db):
        for found in rollout_status(db, name, channel):
            row = asdict(found)
            print_json(row if kiosks else _summary(row))


@rollout_app.command("rollback")
def rollback(
    home: HomeArg,
    name: Annotated[str, typer.Argument(help="The bundle whose rollout to withdraw (e.g. nlu).")],
    channel: ChannelOpt = "stable",
    offline_keys: OfflineOpt = None,
    db_url: DbUrlOpt = "",
) -> None:
    """Roll the whole fleet back: the earlier version returns and the new one is revoked on every kiosk."""
    from sync.hq import rollback_rollout

    with _open(home, db_url, offline_keys) as (repo, db):
        found = rollback_rollout(repo, db, name, channel=channel, by="cli")
    print_json(_summary(asdict(found)))


def _summary(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "kiosks"}


def register(hq_app: typer.Typer) -> None:
    """Add ``kiosk hq rollout …`` to the ``kiosk hq`` commands."""
    hq_app.add_typer(rollout_app, name="rollout")
