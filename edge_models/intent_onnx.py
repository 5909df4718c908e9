"""The intent classifier on the kiosk: an int8 ONNX model run by onnxruntime.

For text without Han characters, an optional second head on MiniLM sentence
vectors (:mod:`edge_models.intent_head`) is mixed in when the bundle has one
and the matching embedder is given. Thresholds are per script: text with Han
characters, and text without (docs/adr/0003-second-intent-head.md).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bundles import Manifest
from edge_models.errors import ModelCorruptError, ModelHealthError, ModelMissingError, verify_model_bundle
from edge_models.features import Featurizer, has_han
from edge_models.intent_explain import ExampleIndex, ModelExplanation, NearExample, feature_contributions
from edge_models.intent_head import (
    GEMMA_HEAD_FILE,
    GEMMA_VOCAB_FILE,
    HEAD_FILE,
    EmbedHead,
    HeadCalibration,
    SentenceEmbedder,
    TokenHead,
    embedder_identity,
    mix_log_probs,
)
from edge_models.intent_set import read_intent_set

MODEL_FILE = "model.onnx"
FEATURES_FILE = "features.json"
CALIBRATION_FILE = "calibration.json"
GOLDEN_FILE = "golden.json"
# Internal label for banking questions the kiosk has no intent for; never reported.
OTHER_LABEL = "_other"
# Scripts with their own thresholds: text with Han characters, text without.
SCRIPTS = ("han", "latin")


@dataclass(frozen=True, slots=True)
class Calibration:
    """Labels, softmax temperature and the recommended decision thresholds.

    Attributes:
        labels: Output labels, in order.
        temperature: Softmax temperature of the TF-IDF model.
        threshold: One decision threshold for all text (TF-IDF alone).
        script_thresholds: Thresholds of the TF-IDF model alone per script (``han``, ``latin``);
            empty in bundles that predate them.
        head: The second head's calibration, or None when the bundle has none.
        token_head: The token head's calibration (Han text), or None when the bundle has none.
    """

    labels: tuple[str, ...]
    temperature: float
    threshold: float
    script_thresholds: tuple[tuple[str, float], ...] = ()
    head: HeadCalibration | None = None
    token_head: HeadCalibration | None = None

    @classmethod
    def from_dict(cls, data: Any) -> Calibration:
        """Parse ``calibration.json``.

        Raises:
            KeyError, TypeError, ValueError: a field is missing or malformed.
        """
        scripts = data.get("script_thresholds") or {}
        head = data.get("embed_head")
        tokens = data.get("token_head")
        return cls(
            labels=tuple(data["labels"]),
            temperature=float(data["temperature"]),
            threshold=float(data["threshold"]),
            script_thresholds=tuple((s, float(scripts[s])) for s in SCRIPTS if s in scripts),
            head=HeadCalibration.from_dict(head) if head is not None else None,
            token_head=HeadCalibration.from_dict(tokens, source_key="gguf_sha256") if tokens is not None else None,
        )


def softmax(logits: npt.NDArray[np.float32], temperature: float) -> npt.NDArray[np.float64]:
    """Row-wise softmax of ``logits / temperature``."""
    z = logits.astype(np.float64) / temperature
    z -= z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)  # type: ignore[no-any-return]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelCorruptError(f"{path}: cannot read: {err}") from err


class OnnxIntentClassifier:
    """Loads an ``nlu`` bundle and classifies normalised text.

    Args:
        bundle_dir: The bundle directory.
        threads: onnxruntime intra-op threads (1 keeps a core for the avatar).
        verify: Check every file against the manifest (size, sha256) first.
        model_file: Which ONNX file of the bundle to run (the fp32 twin in benchmarks).
        embedder: The sentence embedder for the second head; without it, or when it is not
            the embedder the head was trained on, the classifier runs on TF-IDF alone.

    Raises:
        ModelMissingError: the bundle or a file is missing.
        ModelCorruptError: a file is truncated, tampered or unparsable.
    """

    def __init__(
        self,
        bundle_dir: Path,
        *,
        threads: int = 1,
        verify: bool = True,
        model_file: str = MODEL_FILE,
        embedder: SentenceEmbedder | None = None,
    ) -> None:
        import onnxruntime as ort

        self.bundle_dir = bundle_dir
        self.manifest: Manifest | None = None
        if verify:
            self.manifest = verify_model_bundle(bundle_dir, "nlu")
        model_path = bundle_dir / model_file
        if not model_path.is_file():
            raise ModelMissingError(f"{model_path} does not exist")
        calibration = _read_json(bundle_dir / CALIBRATION_FILE)
        try:
            self.calibration = Calibration.from_dict(calibration)
            self._featurizer = Featurizer.from_json((bundle_dir / FEATURES_FILE).read_text(encoding="utf-8"))
        except (OSError, KeyError, TypeError, ValueError) as err:
            raise ModelCorruptError(f"{bundle_dir}: bad calibration or features: {err}") from err
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        try:
            self._session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime raises its own untyped errors on bad files
            raise ModelCorruptError(f"{model_path}: onnxruntime cannot load it: {err}") from err
        outputs = self._session.get_outputs()
        if len(outputs) != 1 or outputs[0].shape[-1] != len(self.calibration.labels):
            raise ModelCorruptError(f"{model_path}: output does not match {len(self.calibration.labels)} labels")
        #: The intents this model predicts (``intents.json``, or the calibration labels of older bundles).
        self.intent_set = read_intent_set(bundle_dir, tuple(x for x in self.calibration.labels if x != OTHER_LABEL))
        self._lock = threading.Lock()
        self._scripts = dict(self.calibration.script_thresholds)
        self._head: EmbedHead | None = None
        self._embedder: SentenceEmbedder | None = None
        self._token_head: TokenHead | None = None
        if self.calibration.token_head is not None:
            self._token_head = TokenHead(
                bundle_dir / GEMMA_HEAD_FILE,
                bundle_dir / GEMMA_VOCAB_FILE,
                len(self.calibration.labels),
                threads=threads,
            )
        #: Why the second head is not used, or None when it is.
        self.head_problem: str | None = None
        if self.calibration.head is None:
            self.head_problem = "the bundle has no second head"
        elif embedder is None:
            self.head_problem = "no sentence embedder: the second head is off"
        elif embedder_identity(embedder) != self.calibration.head.embedder_sha256:
            self.head_problem = "the sentence embedder is not the one the second head was trained on: it is off"
        else:
            self._head = EmbedHead(bundle_dir / HEAD_FILE, len(self.calibration.labels), threads=threads)
            self._embedder = embedder
        #: Training examples for nearest-example explanations (None: the bundle keeps none).
        self.examples = ExampleIndex.load(bundle_dir) if self._head is not None else None
        self._names: tuple[str, ...] | None = None
        # The last sentence vector the head used (text, vector): explain() reuses it instead of embedding again.
        self._last_vector: tuple[str, npt.NDArray[np.float32]] | None = None

    @property
    def threshold(self) -> float:
        """The decision threshold chosen on the dev split at build time."""
        return self.calibration.threshold

    @property
    def head_active(self) -> bool:
        """True when the second head runs on text without Han characters."""
        return self._head is not None

    def threshold_for(self, text: str) -> float:
        """The decision threshold for normalised ``text``: per script, and for the mix when it runs."""
        if not has_han(text) and self._head is not None and self.calibration.head is not None:
            return self.calibration.head.threshold
        if has_han(text) and self._token_head is not None and self.calibration.token_head is not None:
            return self.calibration.token_head.threshold
        return self._scripts.get("han" if has_han(text) else "latin", self.calibration.threshold)

    @property
    def version(self) -> str:
        """Bundle version, or 'unverified'."""
        return self.manifest.version if self.manifest else "unverified"

    def _run(self, indices: npt.NDArray[np.int64], values: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        with self._lock:
            (out,) = self._session.run(None, {"indices": indices, "values": values})
        return np.asarray(out, dtype=np.float32)

    def logits(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Raw logits for a batch of normalised texts."""
        return self._run(*self._featurizer.transform(texts))

    def explain(self, text: str, intent: str, *, k: int = 5) -> ModelExplanation:
        """Why the model leans to ``intent`` for normalised ``text``.

        The n-gram features with the largest (exact) contributions to the
        intent's logit, and, where the MiniLM head runs and the bundle keeps
        examples, the ``k`` nearest training examples.

        Raises:
            ValueError: ``intent`` is not one of the model's labels.
        """
        labels = self.calibration.labels
        if intent not in labels:
            raise ValueError(f"{intent!r} is not a label of this model")
        if self._names is None:
            names = [""] * self._featurizer.size
            for feature, index in self._featurizer.vocab.items():
                names[index] = feature
            self._names = tuple(names)
        found, bias = feature_contributions(self._featurizer, self._run, self._names, text, labels.index(intent))
        logit = bias + sum(f.weight for f in found)
        examples: tuple[NearExample, ...] = ()
        if self.examples is not None and self._embedder is not None and text and not has_han(text):
            last = self._last_vector
            vector = last[1] if last is not None and last[0] == text else self._embedder.embed([text])[0]
            examples = self.examples.nearest(vector, k)
        return ModelExplanation(intent, tuple(found[:k]), round(bias, 4), round(logit, 4), examples)

    def predict_batch(self, texts: list[str]) -> npt.NDArray[np.float64]:
        """Calibrated probabilities, shape (batch, labels) (the second head mixed in where it runs)."""
        probs = softmax(self.logits(texts), self.calibration.temperature)
        token_head, token_calibration = self._token_head, self.calibration.token_head
        if token_head is not None and token_calibration is not None:
            han = [i for i, text in enumerate(texts) if has_han(text)]
            if han:
                token_probs = softmax(token_head.logits([texts[i] for i in han]), token_calibration.temperature)
                probs[han] = mix_log_probs(
                    probs[han], token_probs, token_calibration.weight, token_calibration.mix_temperature
                )
        head, embedder, calibration = self._head, self._embedder, self.calibration.head
        if head is None or embedder is None or calibration is None:
            return probs
        latin = [i for i, text in enumerate(texts) if text and not has_han(text)]
        if latin:
            vectors = embedder.embed([texts[i] for i in latin])
            self._last_vector = (texts[latin[-1]], vectors[-1])
            head_probs = softmax(head.logits(vectors), calibration.temperature)
            probs[latin] = mix_log_probs(probs[latin], head_probs, calibration.weight, calibration.mix_temperature)
        return probs

    def predict(self, text: str) -> list[tuple[str, float]]:
        """Calibrated (label, probability) pairs for one text, best first."""
        probs = self.predict_batch([text])[0]
        order = np.argsort(-probs)
        return [(self.calibration.labels[i], float(probs[i])) for i in order]

    def check_golden(self) -> None:
        """Run the bundle's golden cases.

        Raises:
            ModelHealthError: a golden case is misclassified.
        """
        cases = _read_json(self.bundle_dir / GOLDEN_FILE)
        failures = []
        for case in cases:
            label, _ = self.predict(case["text"])[0]
            if label != case["intent"]:
                failures.append(f"{case['text']!r}: expected {case['intent']}, got {label}")
        if failures:
            raise ModelHealthError(f"{len(failures)} golden case(s) failed: " + "; ".join(failures[:3]))
