"""The intent classifier on the kiosk: an int8 ONNX model run by onnxruntime."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from edge_models.errors import ModelCorruptError, ModelHealthError, ModelMissingError, verify_model_bundle
from edge_models.features import Featurizer
from sync.bundle import Manifest

MODEL_FILE = "model.onnx"
FEATURES_FILE = "features.json"
CALIBRATION_FILE = "calibration.json"
GOLDEN_FILE = "golden.json"
# Internal label for banking questions the kiosk has no intent for; never reported.
OTHER_LABEL = "_other"


@dataclass(frozen=True, slots=True)
class Calibration:
    """Labels, softmax temperature and the recommended decision threshold."""

    labels: tuple[str, ...]
    temperature: float
    threshold: float


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

    Raises:
        ModelMissingError: the bundle or a file is missing.
        ModelCorruptError: a file is truncated, tampered or unparsable.
    """

    def __init__(
        self, bundle_dir: Path, *, threads: int = 1, verify: bool = True, model_file: str = MODEL_FILE
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
            self.calibration = Calibration(
                labels=tuple(calibration["labels"]),
                temperature=float(calibration["temperature"]),
                threshold=float(calibration["threshold"]),
            )
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
        self._lock = threading.Lock()

    @property
    def threshold(self) -> float:
        """The decision threshold chosen on the dev split at build time."""
        return self.calibration.threshold

    @property
    def version(self) -> str:
        """Bundle version, or 'unverified'."""
        return self.manifest.version if self.manifest else "unverified"

    def logits(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Raw logits for a batch of normalised texts."""
        indices, values = self._featurizer.transform(texts)
        with self._lock:
            (out,) = self._session.run(None, {"indices": indices, "values": values})
        return np.asarray(out, dtype=np.float32)

    def predict_batch(self, texts: list[str]) -> npt.NDArray[np.float64]:
        """Calibrated probabilities, shape (batch, labels)."""
        return softmax(self.logits(texts), self.calibration.temperature)

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
