"""The sentence embedder on the kiosk: an int8 ONNX encoder run by onnxruntime.

An ``embedder`` bundle holds ``model.onnx`` (a transformer encoder whose
output is the last hidden state), ``tokenizer.json`` (Hugging Face
``tokenizers``) and ``pooling.json`` (how token states become one sentence
vector). Only ``tokenizers`` and ``onnxruntime`` run here: no torch, no
transformers. Sentence vectors are attention-masked means of the token
states, L2-normalised, so the dot product of two vectors is their cosine.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bundles import Manifest
from edge_models.errors import ModelCorruptError, ModelMissingError, verify_model_bundle

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
POOLING_FILE = "pooling.json"
POOLING_SCHEMA_VERSION = 1
# The fp32 twin is kept beside the bundle (not inside it), for benchmarks: <bundle>-model_fp32.onnx.
FP32_SUFFIX = "-model_fp32.onnx"
# One text per run: dynamic int8 quantization scales activations per tensor over the whole batch,
# so batch mates (and their padding) shift a sentence's vector (cosine 0.989 to itself alone).
BATCH = 1


@dataclass(frozen=True, slots=True)
class PoolingConfig:
    """How token states become a sentence vector.

    Attributes:
        pooling: Only ``mean`` (attention-masked mean of the last hidden state).
        normalize: L2-normalise the sentence vector.
        max_length: Tokens kept per text (longer texts are truncated).
        dimension: Size of the sentence vector.
    """

    pooling: str = "mean"
    normalize: bool = True
    max_length: int = 128
    dimension: int = 384

    def to_json(self) -> str:
        """Serialised form stored in the bundle."""
        return json.dumps(
            {
                "schema_version": POOLING_SCHEMA_VERSION,
                "pooling": self.pooling,
                "normalize": self.normalize,
                "max_length": self.max_length,
                "dimension": self.dimension,
            },
            indent=2,
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> PoolingConfig:
        """Inverse of :meth:`to_json`.

        Raises:
            ValueError: the data is malformed, of a newer schema, or asks for another pooling.
        """
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("schema_version") != POOLING_SCHEMA_VERSION:
            raise ValueError("unsupported pooling schema")
        config = cls(
            pooling=str(data["pooling"]),
            normalize=bool(data["normalize"]),
            max_length=int(data["max_length"]),
            dimension=int(data["dimension"]),
        )
        if config.pooling != "mean":
            raise ValueError(f"unsupported pooling {config.pooling!r}")
        if not 2 <= config.max_length <= 512 or config.dimension < 1:
            raise ValueError(f"max_length {config.max_length} or dimension {config.dimension} out of range")
        return config


def mean_pool(
    hidden: npt.NDArray[np.floating[Any]], mask: npt.NDArray[np.integer[Any]], *, normalize: bool = True
) -> npt.NDArray[np.float32]:
    """Attention-masked mean of token states, optionally L2-normalised.

    Args:
        hidden: Token states, shape (batch, tokens, dimension).
        mask: 1 for real tokens, 0 for padding, shape (batch, tokens).
        normalize: Scale each row to unit length (a zero row stays zero).

    Returns:
        Sentence vectors, shape (batch, dimension).
    """
    weights = mask.astype(np.float32)[:, :, None]
    summed = (hidden.astype(np.float32) * weights).sum(axis=1)
    counts = np.clip(weights.sum(axis=1), 1e-9, None)
    pooled = summed / counts
    if normalize:
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        pooled = pooled / np.clip(norms, 1e-12, None)
    out: npt.NDArray[np.float32] = pooled.astype(np.float32)
    return out


class OnnxEmbedder:
    """Loads an ``embedder`` bundle and embeds text.

    Args:
        bundle_dir: The bundle directory.
        threads: onnxruntime intra-op threads (1 keeps a core for the avatar).
        verify: Check every file against the manifest (size, sha256) first.
        model_file: The ONNX file to run: a name inside the bundle, or a path (the fp32 twin in benchmarks).

    Raises:
        ModelMissingError: the bundle or a file is missing.
        ModelCorruptError: a file is truncated, tampered or unparsable.
    """

    def __init__(
        self, bundle_dir: Path, *, threads: int = 1, verify: bool = True, model_file: str | Path = MODEL_FILE
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.bundle_dir = bundle_dir
        self.manifest: Manifest | None = None
        if verify:
            self.manifest = verify_model_bundle(bundle_dir, "embedder")
        model_path = bundle_dir / model_file
        for path in (model_path, bundle_dir / TOKENIZER_FILE, bundle_dir / POOLING_FILE):
            if not path.is_file():
                raise ModelMissingError(f"{path} does not exist")
        try:
            self.pooling = PoolingConfig.from_json((bundle_dir / POOLING_FILE).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, KeyError, TypeError, ValueError) as err:
            raise ModelCorruptError(f"{bundle_dir / POOLING_FILE}: {err}") from err
        try:
            tokenizer = Tokenizer.from_file(str(bundle_dir / TOKENIZER_FILE))
        except Exception as err:  # tokenizers raises a bare Exception on a bad file
            raise ModelCorruptError(f"{bundle_dir / TOKENIZER_FILE}: tokenizers cannot load it: {err}") from err
        tokenizer.enable_truncation(max_length=self.pooling.max_length)
        pad_id = tokenizer.token_to_id("[PAD]")
        tokenizer.enable_padding(pad_id=pad_id if pad_id is not None else 0, pad_token="[PAD]")  # noqa: S106
        self._tokenizer = tokenizer
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        try:
            self._session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime raises its own untyped errors on bad files
            raise ModelCorruptError(f"{model_path}: onnxruntime cannot load it: {err}") from err
        self._inputs = {i.name for i in self._session.get_inputs()}
        if not {"input_ids", "attention_mask"} <= self._inputs:
            raise ModelCorruptError(f"{model_path}: inputs {sorted(self._inputs)} lack input_ids/attention_mask")
        output = self._session.get_outputs()[0]
        if output.shape[-1] != self.pooling.dimension:
            raise ModelCorruptError(f"{model_path}: output size {output.shape[-1]} is not {self.pooling.dimension}")
        self._output = output.name
        self._lock = threading.Lock()

    @property
    def dimension(self) -> int:
        """Size of a sentence vector."""
        return self.pooling.dimension

    @property
    def version(self) -> str:
        """Bundle version, or 'unverified'."""
        return self.manifest.version if self.manifest else "unverified"

    def _batch(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        with self._lock:
            (hidden,) = self._session.run([self._output], feeds)
        return mean_pool(np.asarray(hidden), mask, normalize=self.pooling.normalize)

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Sentence vectors of ``texts``, shape (len(texts), dimension); unit length when configured.

        Each text is run on its own, so its vector does not depend on what else is embedded.
        """
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        parts = [self._batch(texts[i : i + BATCH]) for i in range(0, len(texts), BATCH)]
        return np.concatenate(parts, axis=0)


def fp32_twin(bundle_dir: Path) -> Path:
    """Where the factory keeps the fp32 model of a bundle (beside it)."""
    return bundle_dir.parent / f"{bundle_dir.name}{FP32_SUFFIX}"


def _latencies_ms(embedder: OnnxEmbedder, texts: Sequence[str]) -> list[float]:
    embedder.embed(texts[:4])  # warm-up
    samples = []
    for text in texts:
        started = time.perf_counter()
        embedder.embed([text])
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered), 3),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 3),
    }


def bench_embedder(bundle_dir: Path, texts: Sequence[str], *, threads: int = 1) -> dict[str, Any]:
    """Per-sentence latency and size of the int8 model and its fp32 twin, and their agreement.

    Args:
        bundle_dir: A built ``embedder`` bundle with its fp32 twin beside it.
        texts: Sentences, embedded one at a time.
        threads: onnxruntime threads for both models.

    Returns:
        ``int8`` and ``fp32`` latency percentiles and sizes, the p50 ratio, and
        the cosine between the two models' vectors (mean and min).

    Raises:
        ModelMissingError: the bundle or its fp32 twin is missing.
        ModelCorruptError: the bundle fails its checks.
        ValueError: ``texts`` is empty.
    """
    if not texts:
        raise ValueError("no texts to benchmark")
    twin = fp32_twin(bundle_dir)
    if not twin.is_file():
        raise ModelMissingError(f"{twin} does not exist (rebuild the embedder bundle)")
    int8 = OnnxEmbedder(bundle_dir, threads=threads)
    fp32 = OnnxEmbedder(bundle_dir, threads=threads, verify=False, model_file=twin.resolve())
    report: dict[str, Any] = {"texts": len(texts), "threads": threads, "version": int8.version}
    for name, model, path in (("int8", int8, bundle_dir / MODEL_FILE), ("fp32", fp32, twin)):
        report[name] = {**_percentiles(_latencies_ms(model, texts)), "size_mb": round(path.stat().st_size / 1e6, 2)}
    report["p50_ratio_int8_to_fp32"] = round(report["int8"]["p50_ms"] / report["fp32"]["p50_ms"], 3)
    cosine = (int8.embed(texts) * fp32.embed(texts)).sum(axis=1)
    report["cosine_to_fp32"] = {"mean": round(float(cosine.mean()), 4), "min": round(float(cosine.min()), 4)}
    return report
