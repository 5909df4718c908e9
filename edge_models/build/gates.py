"""Publishing gates of a retrained NLU bundle: pure arithmetic on scored dev examples.

The candidate and the running (baseline) bundle are scored on the same held
dev split; a gate row compares one figure against its limit. The regression
gate is on utility, right - 4 x confident error (the figure the build's
thresholds maximise, docs/adr/0002), not on the right rate alone: a
recalibrated threshold that answers a little less often and is wrong less
often is not a regression. ``kiosk hq train``
prints the rows as a table and fails when any row fails
(docs/adr/0013-intent-set-from-bundles.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field


@dataclass(frozen=True, slots=True)
class Scored:
    """One dev example as a model saw it: the truth, its language, the prediction, and whether it was decided."""

    truth: str
    lang: str
    pred: str
    decided: bool


@dataclass(frozen=True, slots=True)
class GateRow:
    """One gate: a figure of the candidate against its limit."""

    gate: str
    subject: str
    baseline: float | None
    candidate: float
    limit: str
    ok: bool


class GateLimits(BaseModel):
    """How much worse than the baseline a candidate may be."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tolerance: float = Field(
        default=0.01,
        ge=0,
        le=1,
        description="Largest drop of the dev utility and rise of the confident-error rate, overall and per language.",
    )
    error_cost: float = Field(
        default=4.0, gt=0, description="A confident error costs this many clarifications (as the build's thresholds)."
    )
    max_recall_drop: float = Field(default=0.05, ge=0, le=1, description="Largest drop of any intent's recall on dev.")
    min_support: int = Field(default=10, ge=1, description="Intents with fewer dev examples are reported, not gated.")
    min_new_recall: float = Field(
        default=0.5, ge=0, le=1, description="Smallest recall of an added intent on its own held examples."
    )


def rates(rows: Sequence[Scored]) -> tuple[float, float]:
    """(right, confident error) rates: decided and correct, decided and wrong, over all rows."""
    if not rows:
        return 0.0, 0.0
    right = sum(r.decided and r.pred == r.truth for r in rows)
    wrong = sum(r.decided and r.pred != r.truth for r in rows)
    return right / len(rows), wrong / len(rows)


def recall(rows: Sequence[Scored], intent: str) -> tuple[float, int]:
    """Share of ``intent``'s rows whose best guess is ``intent`` (decided or not), and how many rows."""
    mine = [r for r in rows if r.truth == intent]
    if not mine:
        return 0.0, 0
    return sum(r.pred == intent for r in mine) / len(mine), len(mine)


def utility(rows: Sequence[Scored], error_cost: float) -> float:
    """Right rate minus ``error_cost`` times the confident-error rate (the figure the build's thresholds maximise)."""
    right, wrong = rates(rows)
    return right - error_cost * wrong


def _rate_rows(subject: str, base: Sequence[Scored], cand: Sequence[Scored], limits: GateLimits) -> list[GateRow]:
    tol, cost = limits.tolerance, limits.error_cost
    b_right, b_err = rates(base)
    c_right, c_err = rates(cand)
    b_util, c_util = utility(base, cost), utility(cand, cost)
    return [
        # Shown, not gated: a recalibrated threshold trades right answers for fewer confident errors.
        GateRow("dev right", subject, round(b_right, 4), round(c_right, 4), "shown", ok=True),
        GateRow(
            "dev confident error",
            subject,
            round(b_err, 4),
            round(c_err, 4),
            f"<= {b_err + tol:.4f}",
            c_err <= b_err + tol + 1e-9,
        ),
        GateRow(
            f"dev utility (cost {cost:g})",
            subject,
            round(b_util, 4),
            round(c_util, 4),
            f">= {b_util - tol:.4f}",
            c_util >= b_util - tol - 1e-9,
        ),
    ]


def evaluate_gates(
    baseline: Sequence[Scored],
    candidate: Sequence[Scored],
    *,
    golden_failures: Sequence[str] = (),
    golden_cases: int = 0,
    new_intents: Mapping[str, Sequence[Scored]] | None = None,
    limits: GateLimits | None = None,
    ignore: frozenset[str] = frozenset(),
) -> list[GateRow]:
    """All gate rows of a candidate against the baseline.

    Args:
        baseline: The running bundle's scores on the held dev split.
        candidate: The candidate's scores on the same examples, in the same order.
        golden_failures: Golden cases the candidate gets wrong (text and labels).
        golden_cases: How many golden cases ran.
        new_intents: Per added intent, the candidate's scores on that intent's held examples.
        limits: The tolerances.
        ignore: Truth labels left out of the per-intent recall gate (the internal 'other' label).

    Raises:
        ValueError: the two score lists are not of the same examples.
    """
    limits = limits or GateLimits()
    if len(baseline) != len(candidate) or any(
        b.truth != c.truth or b.lang != c.lang for b, c in zip(baseline, candidate, strict=True)
    ):
        raise ValueError("baseline and candidate were not scored on the same dev examples")
    rows = [
        GateRow(
            "golden cases",
            f"{golden_cases} case(s)",
            None,
            float(len(golden_failures)),
            "== 0 failed",
            not golden_failures,
        )
    ]
    rows += _rate_rows("all", baseline, candidate, limits)
    for lang in sorted({r.lang for r in baseline}):
        base = [r for r in baseline if r.lang == lang]
        cand = [r for r in candidate if r.lang == lang]
        rows += _rate_rows(lang, base, cand, limits)
    for intent in sorted({r.truth for r in baseline} - ignore):
        b_recall, support = recall(baseline, intent)
        c_recall, _ = recall(candidate, intent)
        gated = support >= limits.min_support
        ok = c_recall >= b_recall - limits.max_recall_drop - 1e-9 or not gated
        limit = f">= {b_recall - limits.max_recall_drop:.4f}" if gated else f"n={support}, not gated"
        rows.append(GateRow("intent recall", intent, round(b_recall, 4), round(c_recall, 4), limit, ok))
    for intent, scored in sorted((new_intents or {}).items()):
        c_recall, support = recall(scored, intent)
        ok = support > 0 and c_recall >= limits.min_new_recall
        rows.append(
            GateRow(
                "new intent recall",
                f"{intent} (n={support})",
                None,
                round(c_recall, 4),
                f">= {limits.min_new_recall}",
                ok,
            )
        )
    return rows


def passed(rows: Sequence[GateRow]) -> bool:
    """True when every gate holds."""
    return all(row.ok for row in rows)


def format_table(rows: Sequence[GateRow]) -> str:
    """The rows as a fixed-width text table (failed rows marked FAIL)."""
    header = ("gate", "subject", "baseline", "candidate", "limit", "result")
    cells = [
        (
            r.gate,
            r.subject,
            "-" if r.baseline is None else f"{r.baseline:.4f}",
            f"{r.candidate:.4f}" if r.gate != "golden cases" else f"{int(r.candidate)} failed",
            r.limit,
            "ok" if r.ok else "FAIL",
        )
        for r in rows
    ]
    widths = [max(len(str(c[i])) for c in (header, *cells)) for i in range(len(header))]
    lines = ["  ".join(str(c[i]).ljust(widths[i]) for i in range(len(header))).rstrip() for c in (header, *cells)]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
