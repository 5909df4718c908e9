"""HQ retraining: build a candidate NLU bundle with accepted labels, score it against the running one, gate it.

The candidate is built next to ``out``; it replaces ``out`` only when every gate
holds, otherwise it is kept at ``<out>.rejected`` for inspection and nothing is
published (docs/adr/0013-intent-set-from-bundles.md).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edge_models.build.data import Example, load_examples, split
from edge_models.build.gates import GateLimits, GateRow, Scored, evaluate_gates, passed
from edge_models.errors import ModelHealthError
from edge_models.intent_onnx import GOLDEN_FILE, OTHER_LABEL, OnnxIntentClassifier
from edge_models.intent_set import IntentDecl
from edge_models.normalize import Normalizer
from kiosk.intents import INTENTS


@dataclass(frozen=True)
class RetrainResult:
    """What a retraining produced: the gate rows, the candidate's build metrics, where the bundle is."""

    rows: list[GateRow]
    metrics: dict[str, Any]
    bundle: Path
    passed: bool
    dev_examples: int = 0
    notes: list[str] = field(default_factory=list)


def score(
    model: OnnxIntentClassifier, texts: Sequence[str], truths: Sequence[str], langs: Sequence[str]
) -> list[Scored]:
    """The model stage as the kiosk runs it: best guess, decided at the bundle's threshold ('other' claims nothing)."""
    if not texts:
        return []
    probs = model.predict_batch(list(texts))
    labels = model.calibration.labels
    out = []
    for i, text in enumerate(texts):
        best = int(np.argmax(probs[i]))
        pred = labels[best]
        decided = pred != OTHER_LABEL and float(probs[i, best]) >= model.threshold_for(text)
        out.append(Scored(truths[i], langs[i], pred, decided))
    return out


def golden_failures(model: OnnxIntentClassifier, *bundle_dirs: Path) -> tuple[list[str], int]:
    """Golden cases of ``bundle_dirs`` (the running bundle's and the candidate's) the model gets wrong."""
    cases: dict[str, str] = {}
    for directory in bundle_dirs:
        path = directory / GOLDEN_FILE
        if path.is_file():
            cases.update({c["text"]: c["intent"] for c in json.loads(path.read_text(encoding="utf-8"))})
    failures = []
    for text, intent in cases.items():
        label, _ = model.predict(text)[0]
        if label != intent:
            failures.append(f"{text!r}: expected {intent}, got {label}")
    return failures, len(cases)


def retrain(
    data_dir: Path,
    accepted: list[Example],
    added: tuple[IntentDecl, ...],
    out: Path,
    baseline: Path,
    *,
    embedder_dir: Path | None = None,
    limits: GateLimits | None = None,
    version: str | None = None,
    c_grid: tuple[float, ...] | None = None,
) -> RetrainResult:
    """Build the candidate from the base data plus ``accepted``, gate it against ``baseline``.

    Args:
        data_dir: The base training data (``edge_models/data``).
        accepted: Accepted labels (normalised examples); their dev part scores the added intents.
        added: Intents beyond the core (with display names).
        out: Where the bundle goes when it passes.
        baseline: The running NLU bundle the candidate must not be worse than.
        embedder_dir: The embedder bundle (second head), used for both bundles alike.
        limits: Gate tolerances.
        version: The candidate's version (default: from its inputs).
        c_grid: Regularisation strengths tried on dev (default: the build's grid; one value: no search).

    Raises:
        ModelError: the baseline or the embedder does not load.
    """
    from edge_models.build.train_intent import C_GRID, build

    embedder = None
    if embedder_dir is not None:
        from edge_models.embedder_onnx import OnnxEmbedder

        embedder = OnnxEmbedder(embedder_dir)
    running = OnnxIntentClassifier(baseline, embedder=embedder)
    candidate_dir = out.parent / f".{out.name}.candidate"
    shutil.rmtree(candidate_dir, ignore_errors=True)
    notes: list[str] = []
    try:
        metrics = build(
            data_dir,
            candidate_dir,
            version=version,
            embedder_dir=embedder_dir,
            accepted=accepted,
            added=added,
            c_grid=c_grid or C_GRID,
        )
    except ModelHealthError as err:  # its own golden cases: reported as the golden gate
        notes.append(str(err))
        metrics = {}
    # The held dev split of the base data, labelled as the base data labels it.
    _, dev = split(load_examples(data_dir, INTENTS))
    texts, truths, langs = [e.text for e in dev], [e.intent for e in dev], [e.lang for e in dev]
    base_scores = score(running, texts, truths, langs)
    if not metrics:
        rows = evaluate_gates(base_scores, base_scores, golden_failures=notes, golden_cases=len(notes), limits=limits)
        return RetrainResult(rows, {}, candidate_dir, False, len(dev), notes)
    model = OnnxIntentClassifier(candidate_dir, embedder=embedder)
    cand_scores = score(model, texts, truths, langs)
    failures, cases = golden_failures(model, baseline, candidate_dir)
    _, accepted_dev = split(accepted)
    new = {
        decl.label: score(
            model,
            [e.text for e in accepted_dev if e.intent == decl.label],
            [e.intent for e in accepted_dev if e.intent == decl.label],
            [e.lang for e in accepted_dev if e.intent == decl.label],
        )
        for decl in added
    }
    rows = evaluate_gates(
        base_scores,
        cand_scores,
        golden_failures=failures,
        golden_cases=cases,
        new_intents=new,
        limits=limits,
        ignore=frozenset({OTHER_LABEL}),
    )
    ok = passed(rows)
    if ok:
        from sync.bundle import swap_in_dir

        swap_in_dir(candidate_dir, out)
        bundle = out
    else:
        rejected = out.parent / f"{out.name}.rejected"
        shutil.rmtree(rejected, ignore_errors=True)
        candidate_dir.rename(rejected)
        bundle = rejected
    return RetrainResult(rows, metrics, bundle, ok, len(dev), notes)


def to_examples(rows: Sequence[tuple[str, str, str]], normalizer: Normalizer | None = None) -> list[Example]:
    """Accepted labels ``(text, lang, intent)`` as normalised training examples (first label of a text wins)."""
    normalize = normalizer or Normalizer()
    seen: dict[str, Example] = {}
    for text, lang, intent in rows:
        norm = normalize(text).text
        if norm and norm not in seen:
            seen[norm] = Example(norm, lang, intent, "accepted")
    return list(seen.values())
