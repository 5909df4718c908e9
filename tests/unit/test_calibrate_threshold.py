"""The decision threshold chosen on dev: the best utility, a plateau over a one-point spike."""

from __future__ import annotations

import numpy as np
import pytest

from edge_models.build.calibrate import choose_threshold


def two_class(tops: list[float], right: list[bool]) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities whose top class is 0 with probability ``top``; the label is 0 when ``right``."""
    probs = np.array([[t, (1.0 - t) / 2, (1.0 - t) / 2] for t in tops], dtype=np.float64)
    labels = np.array([0 if ok else 1 for ok in right], dtype=np.int64)
    return probs, labels


def curve() -> tuple[np.ndarray, np.ndarray]:
    # utility (in answers): 100 from 0.91 up, 104 at 0.90, 100 from 0.52 to 0.89, 88 at 0.51, 108 at 0.50, 96 below
    tops = [0.99] * 100 + [0.905] * 4 + [0.895] + [0.515] * 3 + [0.505] * 20 + [0.495] * 3
    right = [True] * 104 + [False] * 4 + [True] * 20 + [False] * 3
    return two_class(tops, right)


def test_one_lucky_grid_point_does_not_set_the_threshold() -> None:
    probs, labels = curve()
    # at 0.50 twenty right answers come in, with three wrong ones a step on either side: the raw utility peaks there
    assert choose_threshold(probs, labels, error_cost=4.0, smoothing=0).threshold == pytest.approx(0.50)
    # averaged over its neighbours, the broader gain at 0.90 wins
    choice = choose_threshold(probs, labels, error_cost=4.0)
    assert choice.threshold == pytest.approx(0.90)
    assert choice.decided == pytest.approx(104 / 131)
    assert choice.confident_error == 0.0
    assert choice.accuracy_decided == 1.0


def test_a_confident_error_costs_more_than_a_clarifying_question() -> None:
    probs, labels = two_class([0.95] * 10 + [0.65] * 5, [True] * 10 + [True, True, True, False, False])
    choice = choose_threshold(probs, labels, error_cost=4.0, smoothing=0)
    assert choice.threshold > 0.65  # 3 right and 2 wrong at 0.65 are worth less than asking
    assert choose_threshold(probs, labels, error_cost=1.0, smoothing=0).threshold <= 0.65


def test_no_dev_examples_is_an_error() -> None:
    with pytest.raises(ValueError, match="no dev examples"):
        choose_threshold(np.zeros((0, 2)), np.zeros(0, dtype=np.int64), error_cost=4.0)
