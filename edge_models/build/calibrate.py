"""Confidence calibration (temperature scaling) and threshold choice on the dev split."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edge_models.intent_onnx import softmax


def nll(logits: npt.NDArray[np.float32], labels: npt.NDArray[np.int64], temperature: float) -> float:
    """Mean negative log-likelihood of ``labels`` under ``softmax(logits / T)``."""
    probs = softmax(logits, temperature)
    return float(-np.mean(np.log(probs[np.arange(len(labels)), labels] + 1e-12)))


def fit_temperature(logits: npt.NDArray[np.float32], labels: npt.NDArray[np.int64]) -> float:
    """The temperature that minimises dev NLL (log grid, then a finer grid)."""
    grid = np.exp(np.linspace(np.log(0.05), np.log(20.0), 121))
    best = min(grid, key=lambda t: nll(logits, labels, float(t)))
    fine = np.linspace(best * 0.9, best * 1.1, 41)
    return round(float(min(fine, key=lambda t: nll(logits, labels, float(t)))), 4)


@dataclass(frozen=True, slots=True)
class ThresholdChoice:
    """A threshold and what it gives on the dev split."""

    threshold: float
    decided: float
    accuracy_decided: float
    confident_error: float


def choose_threshold(
    probs: npt.NDArray[np.float64], labels: npt.NDArray[np.int64], *, error_cost: float, abstain: int | None = None
) -> ThresholdChoice:
    """The threshold that maximises the dev utility of deciding.

    A correct decision is worth 1, a confident wrong one costs ``error_cost``,
    an undecided utterance (clarified, or left to the rules) 0. Predicting the
    ``abstain`` label counts as undecided. Ties go to the higher threshold.
    """
    pred = probs.argmax(axis=1)
    top = np.where(pred == abstain, 0.0, probs.max(axis=1)) if abstain is not None else probs.max(axis=1)
    correct = pred == labels
    n = len(labels)
    best: ThresholdChoice | None = None
    best_utility = -np.inf
    for t in np.round(np.arange(0.20, 0.995, 0.01), 2):
        decided = top >= t
        right = float(np.sum(decided & correct)) / n
        wrong = float(np.sum(decided & ~correct)) / n
        utility = right - error_cost * wrong
        if utility >= best_utility:
            acc = float(np.mean(correct[decided])) if decided.any() else 0.0
            best_utility = utility
            best = ThresholdChoice(float(t), float(decided.mean()), acc, wrong)
    if best is None:
        raise ValueError("no dev examples")
    return best
