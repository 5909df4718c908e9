"""Latency of the int8 intent model against its fp32 twin, in the same run.

    .venv/bin/python scripts/bench_nlu.py [--bundle build/bundles/nlu] [--rounds 5]

Per utterance, as the kiosk runs it: featurise normalised text, one
onnxruntime call on one thread, softmax. Utterances come from the unseen
evaluation set (timing only; nothing is tuned on it). Prints p50/p95 in ms
for each model, their ratio, sizes, and the whole cascade's latency: with the
sentence embedder (the second head runs on text without Han characters,
docs/adr/0003) for all text, Han text and Latin text, and without it.
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import statistics
import tempfile
import time
from pathlib import Path

from edge_models.features import has_han
from edge_models.intent_onnx import OnnxIntentClassifier
from edge_models.normalize import Normalizer
from kiosk.assembly import build_engine
from kiosk.config import DEFAULT_POLICY_DIR, DEFAULT_SEED_DIR, Settings

ROOT = Path(__file__).resolve().parents[1]


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered), 4),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 4),
        "mean_ms": round(statistics.fmean(ordered), 4),
    }


def time_model(model: OnnxIntentClassifier, texts: list[str], rounds: int) -> list[float]:
    for text in texts[:50]:
        model.predict(text)
    samples = []
    gc.disable()
    for _ in range(rounds):
        for text in texts:
            started = time.perf_counter()
            model.predict(text)
            samples.append((time.perf_counter() - started) * 1000)
    gc.enable()
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description="int8 vs fp32 intent model latency")
    parser.add_argument("--bundle", type=Path, default=ROOT / "build" / "bundles" / "nlu")
    parser.add_argument("--data", type=Path, default=ROOT / "tests" / "data" / "nlu_unseen.tsv")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--embedder", type=Path, default=DEFAULT_SEED_DIR / "embedder")
    args = parser.parse_args()
    fp32_path = args.bundle.parent / f"{args.bundle.name}-model_fp32.onnx"
    normalize = Normalizer()
    with args.data.open(encoding="utf-8", newline="") as handle:
        texts = [normalize(row["text"]).text for row in csv.DictReader(handle, delimiter="\t")]
    int8 = OnnxIntentClassifier(args.bundle, threads=1)
    fp32 = OnnxIntentClassifier(args.bundle, threads=1, verify=False, model_file=str(fp32_path))
    # Interleave the two so machine noise hits both alike.
    int8_samples: list[float] = []
    fp32_samples: list[float] = []
    for _ in range(args.rounds):
        int8_samples += time_model(int8, texts, 1)
        fp32_samples += time_model(fp32, texts, 1)
    agree = sum(int8.predict(t)[0][0] == fp32.predict(t)[0][0] for t in texts) / len(texts)
    cascades: dict[str, dict[str, list[float]]] = {}
    for name, seeds in (
        ("with_embedder", (DEFAULT_POLICY_DIR, args.bundle, args.embedder)),
        ("without_embedder", (DEFAULT_POLICY_DIR, args.bundle)),
    ):
        samples: dict[str, list[float]] = {"all": [], "han": [], "latin": []}
        with tempfile.TemporaryDirectory() as state:
            settings = Settings(state_dir=Path(state), seed_dirs=seeds, use_llm=False)
            engine, _ = build_engine(settings)
            for text in texts[:50]:
                engine.understand(text)
            for _ in range(args.rounds):
                for text in texts:
                    started = time.perf_counter()
                    engine.understand(text)
                    ms = (time.perf_counter() - started) * 1000
                    samples["all"].append(ms)
                    samples["han" if has_han(text) else "latin"].append(ms)
        cascades[name] = samples
    i8, f32 = percentiles(int8_samples), percentiles(fp32_samples)
    report = {
        "utterances": len(texts),
        "rounds": args.rounds,
        "threads": 1,
        "int8": {**i8, "size_bytes": (args.bundle / "model.onnx").stat().st_size},
        "fp32": {**f32, "size_bytes": fp32_path.stat().st_size},
        "ratio_int8_over_fp32": {
            "p50": round(i8["p50_ms"] / f32["p50_ms"], 3),
            "p95": round(i8["p95_ms"] / f32["p95_ms"], 3),
            "size": round((args.bundle / "model.onnx").stat().st_size / fp32_path.stat().st_size, 3),
        },
        "top1_agreement_int8_fp32": round(agree, 4),
        "cascade_understand": {
            name: {part: percentiles(s) for part, s in samples.items() if s} for name, samples in cascades.items()
        },
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
