"""Label choice as decoding under a grammar that allows only the labels: a token trie.

The model picks one label of a list. Under a grammar that allows only those
labels, the model chooses only where labels part ways: after "card" it
chooses between "_lost" and "_apply", while after "account_un" the only
allowed token is "freeze" and costs nothing. So a label's log-probability is
the sum, over the points where its path branches, of the log-softmax of its
token among the tokens allowed there. Where one label ends and another goes
on, "end here" is the model's probability of any token that does not go on.

Only the branching points after the first token need the model to read more
tokens, so scoring the kiosk's 25 labels reads 2 extra tokens (after "card"
and "account") instead of 30 (every label's tokens one by one): label choice
costs the prompt plus about two token evaluations.

Pure Python and numpy; the model is reached through ``logits_at``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

Path = tuple[int, ...]
LogitsAt = Callable[[Path], Any]  # logits (one per vocabulary token) after the prompt and then ``path``

__all__ = ["LogitsAt", "branch_points", "label_scores"]


def branch_points(label_tokens: Sequence[Sequence[int]]) -> dict[Path, tuple[set[int], bool]]:
    """Each trie node where the model chooses: (tokens that go on from it, whether a label ends there).

    A node with one way on and no label ending there is not a choice and is left out.

    Raises:
        ValueError: a label has no tokens, or two labels have the same tokens.
    """
    nodes: dict[Path, tuple[set[int], bool]] = {}
    seen: set[Path] = set()
    for tokens in label_tokens:
        path = tuple(tokens)
        if not path:
            raise ValueError("a label has no tokens")
        if path in seen:
            raise ValueError(f"two labels have the same tokens {list(path)}")
        seen.add(path)
        for i, token in enumerate(path):
            nexts, ends = nodes.get(path[:i], (set(), False))
            nexts.add(token)
            nodes[path[:i]] = (nexts, ends)
    for path in seen:
        if path in nodes:  # a label that is a prefix of another: "end here" is a choice
            nodes[path] = (nodes[path][0], True)
    return {path: node for path, node in nodes.items() if len(node[0]) + int(node[1]) > 1}


def _log_softmax_at(logits: Any, nexts: set[int], ends: bool) -> tuple[dict[int, float], float]:
    """Log-probabilities of the allowed next tokens and of "end here", among those alternatives only."""
    values = np.asarray(logits, dtype=np.float64)
    tokens = sorted(nexts)
    alternatives = [float(values[t]) for t in tokens]
    if ends:
        others = np.delete(values, tokens)
        top = float(others.max())
        alternatives.append(top + float(np.log(np.exp(others - top).sum())))  # any token that does not go on
    arr = np.asarray(alternatives)
    top = float(arr.max())
    log_probs = arr - (top + float(np.log(np.exp(arr - top).sum())))
    return dict(zip(tokens, (float(v) for v in log_probs[: len(tokens)]), strict=True)), (
        float(log_probs[-1]) if ends else 0.0
    )


def label_scores(label_tokens: Sequence[Sequence[int]], logits_at: LogitsAt) -> list[float]:
    """Each label's log-probability under the labels-only grammar (they sum to 1 when exponentiated).

    ``logits_at`` is asked once per branching point, shortest paths first (the empty path
    is the logits right after the prompt).

    Raises:
        ValueError: a label has no tokens, or two labels have the same tokens.
    """
    points = branch_points(label_tokens)
    choices = {path: _log_softmax_at(logits_at(path), *points[path]) for path in sorted(points, key=len)}
    scores: list[float] = []
    for tokens in label_tokens:
        path = tuple(tokens)
        total = 0.0
        for i, token in enumerate(path):
            if path[:i] in choices:
                total += choices[path[:i]][0][token]
        if path in choices:
            total += choices[path][1]
        scores.append(total)
    return scores
