"""``kiosk hq train``: retrain the NLU bundle with accepted labels, gate it, write it (and optionally publish it).

The labels file format is ``docs/hq/labels-format.md``; the gates are
``edge_models/build/gates.py``; why: ``docs/adr/0013-intent-set-from-bundles.md``.
Training libraries are imported inside the command (HQ tooling never becomes
an import of the kiosk runtime).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kiosk.config import DEFAULT_POLICY_DIR
from sync.hq_cli.options import DbUrlOpt, store_url
from sync.hq_cli.output import fail
from sync.hq_cli.rollout import BranchesOpt, RateOpt, ReportsOpt, SoakOpt, StagesOpt, parse_plan

if TYPE_CHECKING:
    from sync.hq import RolloutPlan

# The repository's root (edge_models/data, build/bundles/nlu), not the package's folder.
ROOT = Path(__file__).resolve().parents[2]


def train(  # noqa: PLR0917 - typer maps parameters to options
    labels: Annotated[Path, typer.Option(help="Accepted labels: .jsonl or .csv of masked text, lang, intent.")],
    out: Annotated[Path, typer.Option(help="Where the new NLU bundle goes (only when every gate holds).")],
    policy: Annotated[
        Path, typer.Option(help="The policy bundle that answers every intent (and declares added ones).")
    ] = DEFAULT_POLICY_DIR,
    data: Annotated[Path, typer.Option(help="Base training data.")] = ROOT / "edge_models" / "data",
    baseline: Annotated[Path, typer.Option(help="The running NLU bundle to compare against.")] = ROOT
    / "build"
    / "bundles"
    / "nlu",
    embedder: Annotated[Path | None, typer.Option(help="Embedder bundle: train and score the second head.")] = None,
    version: Annotated[str | None, typer.Option(help="Version of the new bundle.")] = None,
    tolerance: Annotated[
        float, typer.Option(help="Largest drop of dev utility, right - 4 x confident error (overall, per language).")
    ] = 0.01,
    max_recall_drop: Annotated[float, typer.Option(help="Largest drop of any intent's dev recall.")] = 0.05,
    min_new_recall: Annotated[float, typer.Option(help="Smallest recall of an added intent on its held labels.")] = 0.5,
    c_grid: Annotated[
        str, typer.Option(help="Regularisation strengths tried on dev, comma-separated (one value: no search).")
    ] = "",
    publish: Annotated[
        Path | None,
        typer.Option(help="HQ repository folder: start a staged rollout of the bundle with the policy there."),
    ] = None,
    channel: Annotated[str, typer.Option(help="Release channel when publishing.")] = "stable",
    stages: StagesOpt = "5,25,100",
    branches: BranchesOpt = "",
    max_failure_rate: RateOpt = 0.2,
    min_reports: ReportsOpt = 1,
    soak_s: SoakOpt = 120.0,
    db_url: DbUrlOpt = "",
) -> None:
    """Retrain the intent model with accepted labels; print the gates; exit 1 when one fails."""
    from pydantic import ValidationError

    from edge_models.build.gates import GateLimits, format_table
    from edge_models.build.retrain import retrain, to_examples
    from edge_models.errors import ModelError
    from edge_models.intent_set import IntentDecl
    from kiosk.intents import INTENTS, LabelsFileError, check_model_labels, read_labels
    from kiosk.policy import PolicyError, load_policy

    try:
        grid = tuple(float(c) for c in c_grid.split(",") if c.strip())
    except ValueError as err:
        raise fail(f"--c-grid: {err}") from err
    try:
        limits = GateLimits(tolerance=tolerance, max_recall_drop=max_recall_drop, min_new_recall=min_new_recall)
        answers = load_policy(policy)
        rows = read_labels(labels, known=answers.intents)
    except (ValidationError, PolicyError, LabelsFileError) as err:
        raise fail(str(err)) from err
    # The policy declares what the bundle adds; the bundle adds only what has examples.
    used = {row.intent for row in rows}
    names = answers.messages.intent_names
    added = tuple(
        IntentDecl(label=label, zh=names[label].zh, en=names[label].en)
        for label in answers.added_intents
        if label in used
    )
    accepted = to_examples([(row.text, row.lang, row.intent) for row in rows])
    typer.echo(
        f"training with {len(accepted)} accepted label(s); intents added to the core "
        f"({len(INTENTS)}): {', '.join(d.label for d in added) or 'none'}",
        err=True,
    )
    try:
        result = retrain(
            data, accepted, added, out, baseline, embedder_dir=embedder, limits=limits, version=version, c_grid=grid
        )
    except (ModelError, ValueError, OSError) as err:
        raise fail(f"retraining failed: {err}") from err
    typer.echo(format_table(result.rows))
    for note in result.notes:
        typer.echo(f"note: {note}")
    summary = {
        "passed": result.passed,
        "bundle": str(result.bundle),
        "dev_examples": result.dev_examples,
        "accepted_examples": len(accepted),
        "added_intents": [d.label for d in added],
        "failed_gates": [f"{r.gate}: {r.subject}" for r in result.rows if not r.ok],
    }
    if not result.passed:
        typer.echo(json.dumps(summary, ensure_ascii=False))
        raise fail(f"gates failed, nothing written to {out} (candidate kept at {result.bundle})")
    try:
        from edge_models.intent_onnx import OnnxIntentClassifier

        check_model_labels(OnnxIntentClassifier(out).intent_set.labels, answers.intents)
    except ModelError as err:
        raise fail(str(err)) from err
    if publish is not None:
        plan = parse_plan(stages, branches, max_failure_rate, min_reports, soak_s)
        summary["rollout"] = _publish(publish, [out, policy], plan, channel, db_url)
    typer.echo(json.dumps(summary, ensure_ascii=False))


def _publish(home: Path, bundles: list[Path], plan: RolloutPlan, channel: str, db_url: str) -> dict[str, Any]:
    """Start a staged rollout of the new bundle with its policy (:mod:`sync.hq.rollout`)."""
    from sync.errors import SyncError
    from sync.hq import HqDB, HqRepository, start_rollout

    try:
        repo = HqRepository(home)
        db = HqDB(store_url(home, db_url))
        try:
            status = start_rollout(repo, db, bundles, plan, channel=channel)
        finally:
            db.close()
    except SyncError as err:
        raise fail(f"bundle written but not published: {err}") from err
    return {k: v for k, v in asdict(status).items() if k != "kiosks"}


def register(hq_app: typer.Typer) -> None:
    """Add ``kiosk hq train`` to the ``kiosk hq`` commands."""
    hq_app.command("train")(train)
