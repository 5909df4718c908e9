"""Label choice under a labels-only grammar (edge_models.llm_labels), on made-up logits."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from edge_models.llm_labels import branch_points, label_scores

VOCAB = 10


def logits_for(
    table: dict[tuple[int, ...], dict[int, float]],
) -> tuple[Callable[[tuple[int, ...]], Any], list[tuple[int, ...]]]:
    """Logits after each path: the given values, -5 for every other token; records the paths asked."""
    asked: list[tuple[int, ...]] = []

    def logits_at(path: tuple[int, ...]) -> Any:
        asked.append(path)
        values = np.full(VOCAB, -5.0)
        for token, value in table.get(path, {}).items():
            values[token] = value
        return values

    return logits_at, asked


def test_only_the_points_where_labels_part_ways_are_read() -> None:
    # card_lost = [1, 2], card_apply = [1, 3], transfer = [4], account_unfreeze = [5, 6, 7]
    labels = [[1, 2], [1, 3], [4], [5, 6, 7]]
    assert set(branch_points(labels)) == {(), (1,)}
    logits_at, asked = logits_for({(): {1: 2.0, 4: 1.0, 5: 0.0}, (1,): {2: 1.0, 3: 0.0}})
    scores = label_scores(labels, logits_at)
    assert asked == [(), (1,)]  # "account" goes on to "un" and "freeze" for free
    first = np.array([2.0, 1.0, 0.0])
    first_lp = first - math.log(np.exp(first).sum())
    second_lp = np.array([1.0, 0.0]) - math.log(math.exp(1.0) + 1.0)
    assert scores == pytest.approx([first_lp[0] + second_lp[0], first_lp[0] + second_lp[1], first_lp[1], first_lp[2]])
    assert sum(math.exp(s) for s in scores) == pytest.approx(1.0)


def test_a_label_that_is_a_prefix_of_another_competes_with_ending_there() -> None:
    labels = [[1], [1, 2], [3]]  # "card" and "card_lost"
    logits_at, asked = logits_for({(): {1: 1.0, 3: 1.0}, (1,): {2: 3.0}})
    scores = label_scores(labels, logits_at)
    assert asked == [(), (1,)]
    end = math.log((VOCAB - 1) * math.exp(-5.0))  # any token that does not go on ends "card"
    go_on = 3.0
    total = math.log(math.exp(end) + math.exp(go_on))
    assert scores[0] == pytest.approx(math.log(0.5) + end - total)
    assert scores[1] == pytest.approx(math.log(0.5) + go_on - total)
    assert sum(math.exp(s) for s in scores) == pytest.approx(1.0)


def test_one_label_is_certain_and_asks_nothing() -> None:
    logits_at, asked = logits_for({})
    assert label_scores([[7, 8]], logits_at) == [0.0]
    assert asked == []


@pytest.mark.parametrize("labels", [[[1, 2], [1, 2]], [[1], []]])
def test_labels_that_cannot_be_told_apart_are_refused(labels: list[list[int]]) -> None:
    logits_at, _ = logits_for({})
    with pytest.raises(ValueError, match=r"no tokens|same tokens"):
        label_scores(labels, logits_at)
