"""The extra intent heads: MiniLM sentence vectors (Latin text), Gemma static tokens (Han text).

The TF-IDF model knows only the n-grams of its training data. For text
without Han characters, a second head reads the int8 MiniLM embedder's
sentence vector (which knows English words and paraphrases beyond the
training set) and its log-probabilities are mixed with the TF-IDF model's:
``softmax(((1 - w) * log p_tfidf + w * log p_head) / T_mix)``. The weight
``w``, the temperatures and the decision threshold of the mix are chosen on
the factory's dev split (``edge_models/build/embed_head.py``).

The head is trained on one embedder's vectors: its calibration names the
sha256 of that embedder's ``model.onnx``, and an embedder with another
model is not used (the classifier then runs on TF-IDF alone).

For text with Han characters, a third head reads Gemma 3 270M's static token
embeddings (:mod:`edge_models.token_features`) folded into a token -> logits
table, a sparse lookup like the n-gram model; it is mixed in the same way.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from bundles import Manifest
from edge_models.errors import ModelCorruptError, ModelMissingError

HEAD_FILE = "head_embed.onnx"
GEMMA_HEAD_FILE = "head_gemma.onnx"
GEMMA_VOCAB_FILE = "head_gemma_vocab.json"
EMBEDDER_MODEL_FILE = "model.onnx"


class SentenceEmbedder(Protocol):
    """What the head needs of a sentence embedder (``OnnxEmbedder`` is one)."""

    manifest: Manifest | None

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Sentence vectors, shape (len(texts), dimension)."""
        ...


def embedder_identity(embedder: SentenceEmbedder) -> str | None:
    """The sha256 of the embedder's ``model.onnx`` from its verified manifest, or None."""
    if embedder.manifest is None:
        return None
    for entry in embedder.manifest.files:
        if entry.path == EMBEDDER_MODEL_FILE:
            return entry.sha256
    return None


@dataclass(frozen=True, slots=True)
class HeadCalibration:
    """How the head's probabilities are mixed with the TF-IDF model's.

    Attributes:
        embedder_sha256: sha256 of the embedder model the head was trained on.
        temperature: Softmax temperature of the head's own logits.
        weight: Weight of the head's log-probabilities in the mix, in (0, 1).
        mix_temperature: Softmax temperature of the mixed log-probabilities.
        threshold: Decision threshold of the mix (text without Han characters).
    """

    embedder_sha256: str
    temperature: float
    weight: float
    mix_temperature: float
    threshold: float

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source_key: str = "embedder_sha256") -> HeadCalibration:
        """Parse the ``embed_head`` (or, with ``source_key="gguf_sha256"``, ``token_head``) entry.

        Raises:
            KeyError, TypeError, ValueError: a field is missing or out of range.
        """
        calibration = cls(
            embedder_sha256=str(data[source_key]),
            temperature=float(data["temperature"]),
            weight=float(data["weight"]),
            mix_temperature=float(data["mix_temperature"]),
            threshold=float(data["threshold"]),
        )
        if not 0.0 < calibration.weight < 1.0 or calibration.temperature <= 0 or calibration.mix_temperature <= 0:
            raise ValueError(f"embed_head calibration out of range: {data}")
        return calibration


def mix_log_probs(
    tfidf_probs: npt.NDArray[np.float64], head_probs: npt.NDArray[np.float64], weight: float, temperature: float
) -> npt.NDArray[np.float64]:
    """Calibrated mix of two probability rows (weighted mean of log-probabilities, then softmax)."""
    z = ((1.0 - weight) * np.log(tfidf_probs + 1e-9) + weight * np.log(head_probs + 1e-9)) / temperature
    z -= z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)  # type: ignore[no-any-return]


def _head_session(path: Path, n_labels: int, threads: int) -> Any:
    """An onnxruntime session for a head whose one output has a logit per label.

    Raises:
        ModelCorruptError: onnxruntime cannot load it, or its output does not fit the labels.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime raises its own untyped errors on bad files
        raise ModelCorruptError(f"{path}: onnxruntime cannot load it: {err}") from err
    outputs = session.get_outputs()
    if len(outputs) != 1 or outputs[0].shape[-1] != n_labels:
        raise ModelCorruptError(f"{path}: output does not match {n_labels} labels")
    return session


class EmbedHead:
    """The head's ONNX graph (``logits = embedding @ W + b``) on onnxruntime.

    Args:
        path: The head's ONNX file.
        n_labels: Labels the output must have.
        threads: onnxruntime intra-op threads.

    Raises:
        ModelMissingError: the file is missing.
        ModelCorruptError: onnxruntime cannot load it, or its output does not fit the labels.
    """

    def __init__(self, path: Path, n_labels: int, *, threads: int = 1) -> None:
        if not path.is_file():
            raise ModelMissingError(f"{path} does not exist")
        self._session = _head_session(path, n_labels, threads)
        self.dimension = int(self._session.get_inputs()[0].shape[-1])
        self._lock = threading.Lock()

    def logits(self, vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Raw logits for sentence vectors of shape (batch, dimension)."""
        with self._lock:
            (out,) = self._session.run(None, {"embedding": vectors.astype(np.float32)})
        return np.asarray(out, dtype=np.float32)


class TokenHead:
    """The token head's ONNX graph (a sparse lookup, as the n-gram model's) and its vocabulary.

    Args:
        path: The head's ONNX file.
        vocab_path: Its ``TokenVocabulary`` JSON.
        n_labels: Labels the output must have.
        threads: onnxruntime intra-op threads.

    Raises:
        ModelMissingError: a file is missing.
        ModelCorruptError: a file is unreadable, or the output does not fit the labels.
    """

    def __init__(self, path: Path, vocab_path: Path, n_labels: int, *, threads: int = 1) -> None:
        from edge_models.token_features import TokenVocabulary

        for file in (path, vocab_path):
            if not file.is_file():
                raise ModelMissingError(f"{file} does not exist")
        try:
            self.vocabulary = TokenVocabulary.from_json(vocab_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, KeyError, TypeError, ValueError) as err:
            raise ModelCorruptError(f"{vocab_path}: {err}") from err
        self._session = _head_session(path, n_labels, threads)
        self._lock = threading.Lock()

    def logits(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Raw logits for normalised texts."""
        indices, values = self.vocabulary.transform(list(texts))
        with self._lock:
            (out,) = self._session.run(None, {"indices": indices, "values": values})
        return np.asarray(out, dtype=np.float32)
