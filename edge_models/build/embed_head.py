"""Factory side of the second intent head: logistic regression on MiniLM sentence vectors.

Trained on the training split's text without Han characters (the embedder's
vocabulary is English), embedded by the int8 embedder bundle exactly as the
kiosk embeds it. On the dev split's text without Han characters, in order:
C (dev accuracy), the head's temperature (dev NLL), the mixing weight and
the mix temperature, and the mix's decision threshold (dev utility, as for
the TF-IDF model). See docs/adr/0003-second-intent-head.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from edge_models.build.calibrate import ThresholdChoice, choose_threshold, fit_temperature
from edge_models.build.onnx_graph import OPSET
from edge_models.intent_head import EmbedHead, mix_log_probs
from edge_models.intent_onnx import softmax

if TYPE_CHECKING:
    from edge_models.build.data import Example

C_GRID = (1.0, 4.0, 16.0)
# Training examples kept in the bundle per label for nearest-example explanations (issue 14): bounded,
# so the bundle grows by at most labels x EXAMPLES_PER_LABEL x dimension x 2 bytes (float16).
EXAMPLES_PER_LABEL = 24
WEIGHT_GRID = (0.2, 0.3, 0.4, 0.5, 0.6)
SEED = 0


@dataclass(frozen=True, slots=True)
class HeadFit:
    """The trained head and what it gives on the dev split."""

    weights: npt.NDArray[np.float32]
    bias: npt.NDArray[np.float32]
    c: float
    head_dev_accuracy: float


@dataclass(frozen=True, slots=True)
class MixChoice:
    """The chosen mix of the TF-IDF model and the head, with its dev figures."""

    temperature: float
    weight: float
    mix_temperature: float
    threshold: ThresholdChoice
    mix_dev_accuracy: float


def utility(choice: ThresholdChoice, error_cost: float) -> float:
    """Dev utility of a threshold choice: right decisions minus ``error_cost`` per wrong one."""
    return choice.decided * choice.accuracy_decided - error_cost * choice.confident_error


def fit_head(
    x_train: npt.NDArray[np.float32],
    y_train: npt.NDArray[np.int64],
    x_dev: npt.NDArray[np.float32],
    y_dev: npt.NDArray[np.int64],
    n_labels: int,
) -> HeadFit:
    """Multinomial logistic regression on sentence vectors, C chosen by dev accuracy."""
    from sklearn.linear_model import LogisticRegression

    best: HeadFit | None = None
    for c in C_GRID:
        model = LogisticRegression(C=c, max_iter=5000, random_state=SEED)
        model.fit(x_train, y_train)
        weights = np.zeros((x_train.shape[1], n_labels), dtype=np.float32)
        bias = np.full(n_labels, -1e4, dtype=np.float32)  # labels absent from training are never chosen
        weights[:, model.classes_] = model.coef_.T
        bias[model.classes_] = model.intercept_
        acc = float(np.mean((x_dev @ weights + bias).argmax(axis=1) == y_dev))
        if best is None or acc > best.head_dev_accuracy:
            best = HeadFit(weights, bias, c, acc)
    if best is None:
        raise ValueError("empty C grid")
    return best


def write_head_examples(staging: Path, examples: Sequence[Example], vectors: npt.NDArray[np.float32]) -> int:
    """Keep up to :data:`EXAMPLES_PER_LABEL` training examples per label with their vectors; returns how many.

    The first examples of each label in training order are kept (deterministic). They are training data
    written at HQ, not customer text.
    """
    from edge_models.intent_explain import write_examples

    kept: list[int] = []
    per_label: dict[str, int] = {}
    for i, example in enumerate(examples):
        if per_label.get(example.intent, 0) < EXAMPLES_PER_LABEL:
            per_label[example.intent] = per_label.get(example.intent, 0) + 1
            kept.append(i)
    write_examples(staging, [examples[i].text for i in kept], [examples[i].intent for i in kept], vectors[kept])
    return len(kept)


def write_head_model(path: Path, weights: npt.NDArray[np.float32], bias: npt.NDArray[np.float32]) -> None:
    """Write ``logits = embedding @ weights + bias`` as ONNX (input ``embedding``, output ``logits``)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    dim, n_labels = weights.shape
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["embedding", "weights"], ["product"]),
            helper.make_node("Add", ["product", "bias"], ["logits"]),
        ],
        "kiosk_intent_embed_head",
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", dim])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", n_labels])],
        [
            numpy_helper.from_array(weights.astype(np.float32), "weights"),
            numpy_helper.from_array(bias.astype(np.float32), "bias"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="kiosk-build")
    model.ir_version = 9
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))


def choose_mix(
    tfidf_probs: npt.NDArray[np.float64],
    head_logits: npt.NDArray[np.float32],
    y_dev: npt.NDArray[np.int64],
    *,
    error_cost: float,
    abstain: int,
) -> MixChoice:
    """Head temperature, mixing weight, mix temperature and threshold that maximise dev utility."""
    temperature = fit_temperature(head_logits, y_dev)
    head_probs = softmax(head_logits, temperature)
    best: tuple[float, MixChoice] | None = None
    for weight in WEIGHT_GRID:
        mixed_logits = ((1 - weight) * np.log(tfidf_probs + 1e-9) + weight * np.log(head_probs + 1e-9)).astype(
            np.float32
        )
        mix_temperature = fit_temperature(mixed_logits, y_dev)
        probs = mix_log_probs(tfidf_probs, head_probs, weight, mix_temperature)
        choice = choose_threshold(probs, y_dev, error_cost=error_cost, abstain=abstain)
        value = utility(choice, error_cost)
        if best is None or value > best[0]:
            acc = float(np.mean(probs.argmax(axis=1) == y_dev))
            best = (value, MixChoice(temperature, weight, mix_temperature, choice, acc))
    if best is None:
        raise ValueError("empty weight grid")
    return best[1]


def head_calibration(fit: HeadFit, mix: MixChoice, embedder_sha256: str) -> dict[str, Any]:
    """The ``embed_head`` entry of ``calibration.json``."""
    return {
        "embedder_sha256": embedder_sha256,
        "temperature": mix.temperature,
        "weight": mix.weight,
        "mix_temperature": mix.mix_temperature,
        "threshold": mix.threshold.threshold,
        "c": fit.c,
    }


def head_dev_logits(path: Path, vectors: npt.NDArray[np.float32], n_labels: int) -> npt.NDArray[np.float32]:
    """Logits of the written head as the kiosk runs it (onnxruntime)."""
    return EmbedHead(path, n_labels).logits(vectors)
