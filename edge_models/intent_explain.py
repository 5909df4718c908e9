"""Why the intent model chose a label: n-gram contributions and nearest training examples.

The n-gram model is linear (``logits = sum_j values[j] * W[indices[j]] + b``,
see :mod:`edge_models.build.onnx_graph`), so each feature's contribution to a
label's logit is exact: the graph is run once per feature, alone, and the bias
(the graph run on padding) is taken off. The int8 weights are those the kiosk
runs, dequantized by onnxruntime itself, so the contributions add up to the
logit the classifier saw.

The MiniLM head is explained by the training examples nearest to the
utterance in the embedder's space (cosine), kept in the bundle, bounded per
label, by the factory (``edge_models/build/embed_head.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from edge_models.errors import ModelCorruptError
from edge_models.features import PAD_INDEX, Featurizer

EXAMPLES_FILE = "head_examples.json"
EXAMPLE_VECTORS_FILE = "head_examples.npy"

LinearRun = Callable[[npt.NDArray[np.int64], npt.NDArray[np.float32]], npt.NDArray[np.float32]]
"""The n-gram graph: ``indices``, ``values`` of shape (batch, width) to logits (batch, labels)."""


@dataclass(frozen=True, slots=True)
class FeatureWeight:
    """An n-gram and its exact contribution to one label's logit."""

    feature: str
    weight: float


@dataclass(frozen=True, slots=True)
class NearExample:
    """A training example near the utterance, its label and cosine similarity."""

    text: str
    intent: str
    similarity: float


@dataclass(frozen=True, slots=True)
class ModelExplanation:
    """What pushed the model towards ``intent``.

    Attributes:
        intent: The label explained.
        features: The n-grams that pushed the label's logit most, strongest first.
        bias: The label's bias (the logit with no feature).
        logit: Bias plus every feature's contribution (the model's logit for the label).
        examples: Nearest training examples (MiniLM head; empty when it does not run).
    """

    intent: str
    features: tuple[FeatureWeight, ...]
    bias: float
    logit: float
    examples: tuple[NearExample, ...] = ()


def feature_contributions(
    featurizer: Featurizer, run: LinearRun, names: Sequence[str], text: str, label: int
) -> tuple[list[FeatureWeight], float]:
    """Every feature of ``text`` with its contribution to logit ``label``, strongest push first, and the bias.

    Args:
        featurizer: The bundle's featurizer.
        run: The n-gram graph.
        names: Feature name by vocabulary index (index 0: padding).
        text: Normalised text.
        label: Index of the label.
    """
    idx, vals = featurizer.row(text)
    indices = np.array([[PAD_INDEX], *([i] for i in idx)], dtype=np.int64)
    values = np.array([[0.0], *([v] for v in vals)], dtype=np.float32)
    out = run(indices, values)
    bias = float(out[0, label])
    found = [FeatureWeight(names[i], float(out[row + 1, label]) - bias) for row, i in enumerate(idx)]
    found.sort(key=lambda f: -f.weight)
    return found, bias


class ExampleIndex:
    """Training examples and their unit sentence vectors, for nearest-example explanations.

    Args:
        texts: Example texts (training data, not customer data).
        intents: Their labels.
        vectors: Their sentence vectors, one row each.

    Raises:
        ModelCorruptError: the lengths differ.
    """

    def __init__(self, texts: Sequence[str], intents: Sequence[str], vectors: npt.NDArray[np.float32]) -> None:
        if len(texts) != len(intents) or len(texts) != vectors.shape[0]:
            raise ModelCorruptError("example texts, labels and vectors differ in length")
        self.texts = tuple(texts)
        self.intents = tuple(intents)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self.vectors = (vectors / np.maximum(norms, 1e-9)).astype(np.float32)

    @classmethod
    def load(cls, bundle_dir: Path) -> ExampleIndex | None:
        """The bundle's example index, or None when the bundle keeps none.

        Raises:
            ModelCorruptError: the files exist but cannot be read.
        """
        meta_path, vec_path = bundle_dir / EXAMPLES_FILE, bundle_dir / EXAMPLE_VECTORS_FILE
        if not meta_path.is_file() or not vec_path.is_file():
            return None
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            vectors = np.load(vec_path, allow_pickle=False).astype(np.float32)
            return cls([str(t) for t in meta["texts"]], [str(i) for i in meta["intents"]], vectors)
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ModelCorruptError(f"{bundle_dir}: bad example index: {err}") from err

    def nearest(self, vector: npt.NDArray[np.float32], k: int) -> tuple[NearExample, ...]:
        """The ``k`` examples with the highest cosine to ``vector``, nearest first."""
        v = vector.astype(np.float32).reshape(-1)
        v = v / max(float(np.linalg.norm(v)), 1e-9)
        sims = np.einsum("ij,j->i", self.vectors, v)  # no BLAS threads: they contend with onnxruntime's
        order = np.argsort(-sims)[:k]
        return tuple(NearExample(self.texts[i], self.intents[i], round(float(sims[i]), 4)) for i in order)


def write_examples(
    bundle_dir: Path, texts: Sequence[str], intents: Sequence[str], vectors: npt.NDArray[np.float32]
) -> None:
    """Write an example index into a (staging) bundle directory: JSON texts and labels, float16 vectors."""
    meta = {"texts": list(texts), "intents": list(intents)}
    (bundle_dir / EXAMPLES_FILE).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    with (bundle_dir / EXAMPLE_VECTORS_FILE).open("wb") as out:
        np.save(out, vectors.astype(np.float16), allow_pickle=False)
