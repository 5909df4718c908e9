"""Build the ``nlu`` bundle: train, export to ONNX, quantize to int8, calibrate, evaluate.

Usage::

    python -m edge_models.build.train_intent --data edge_models/data --out build/bundles/nlu
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from datetime import UTC, datetime
from importlib.metadata import version as pkg_version
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from edge_models.build.calibrate import choose_threshold, fit_temperature
from edge_models.build.data import Example, load_examples, split
from edge_models.build.onnx_graph import quantize_int8, write_linear_model
from edge_models.features import Featurizer
from edge_models.intent_onnx import (
    CALIBRATION_FILE,
    FEATURES_FILE,
    GOLDEN_FILE,
    MODEL_FILE,
    OTHER_LABEL,
    OnnxIntentClassifier,
)
from kiosk.intents import INTENTS
from sync.bundle import write_manifest

BUNDLE_NAME = "nlu"
FP32_FILE = "model_fp32.onnx"
C_GRID = (10.0, 20.0, 40.0, 80.0, 160.0)
# A confident wrong answer is this many times worse than a clarification (docs/adr/0002).
ERROR_COST = 4.0
SEED = 0
# The contract labels, then the internal "other banking question" label.
LABELS = (*INTENTS, OTHER_LABEL)


def _matrix(featurizer: Featurizer, texts: list[str]) -> Any:
    from scipy.sparse import csr_matrix

    data, cols, ptr = [], [], [0]
    for text in texts:
        idx, vals = featurizer.row(text)
        cols.extend(idx)
        data.extend(vals)
        ptr.append(len(cols))
    return csr_matrix((data, cols, ptr), shape=(len(texts), featurizer.size), dtype=np.float64)


def _labels(examples: list[Example]) -> npt.NDArray[np.int64]:
    return np.array([LABELS.index(e.intent) for e in examples], dtype=np.int64)


def _fit(x: Any, y: npt.NDArray[np.int64], c: float) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=5000, random_state=SEED)
    model.fit(x, y)
    weights = np.zeros((x.shape[1], len(LABELS)), dtype=np.float32)
    bias = np.zeros(len(LABELS), dtype=np.float32)
    weights[:, model.classes_] = model.coef_.T
    bias[model.classes_] = model.intercept_
    bias[np.setdiff1d(np.arange(len(LABELS)), model.classes_)] = -1e4
    weights[0] = 0.0
    return weights, bias


def _inputs_hash(data_dir: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(data_dir.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(data_dir).as_posix().encode())
            digest.update(path.read_bytes())
    for module in ("features.py", "normalize.py", "build/train_intent.py", "build/calibrate.py", "build/data.py"):
        digest.update((Path(__file__).parents[1] / module).read_bytes())
    return digest.hexdigest()


def _per_lang(examples: list[Example], pred: npt.NDArray[np.int64], top: npt.NDArray[np.float64], t: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for lang in ("zh", "en"):
        mask = np.array([e.lang == lang for e in examples])
        if not mask.any():
            continue
        y = _labels([e for e in examples if e.lang == lang])
        correct = pred[mask] == y
        decided = top[mask] >= t
        out[lang] = {
            "n": int(mask.sum()),
            "accuracy": round(float(correct.mean()), 4),
            "decided": round(float(decided.mean()), 4),
            "confident_error": round(float(np.mean(decided & ~correct)), 4),
        }
    return out


def build(data_dir: Path, out_dir: Path, *, origin: str = "hq", version: str | None = None) -> dict[str, Any]:
    """Train and write the bundle to ``out_dir``; return its metrics."""
    examples = load_examples(data_dir, INTENTS)
    train, dev = split(examples)
    featurizer = Featurizer.fit([e.text for e in train])
    x_train, y_train = _matrix(featurizer, [e.text for e in train]), _labels(train)
    x_dev, y_dev = _matrix(featurizer, [e.text for e in dev]), _labels(dev)
    best_c, best_acc = C_GRID[0], -1.0
    for c in C_GRID:
        weights, bias = _fit(x_train, y_train, c)
        acc = float(np.mean(np.asarray(x_dev @ weights + bias).argmax(axis=1) == y_dev))
        if acc > best_acc:
            best_c, best_acc = c, acc
    weights, bias = _fit(x_train, y_train, best_c)

    staging = out_dir.parent / f".{out_dir.name}.staging"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    fp32_path = out_dir.parent / f"{out_dir.name}-{FP32_FILE}"
    write_linear_model(staging / FP32_FILE, weights, bias)
    quantize_int8(staging / FP32_FILE, staging / MODEL_FILE)
    (staging / FEATURES_FILE).write_text(featurizer.to_json(), encoding="utf-8")

    # Calibrate the int8 model as it will run on the kiosk.
    (staging / CALIBRATION_FILE).write_text(
        json.dumps({"labels": list(LABELS), "temperature": 1.0, "threshold": 0.5}), encoding="utf-8"
    )
    (staging / GOLDEN_FILE).write_text("[]", encoding="utf-8")
    int8 = OnnxIntentClassifier(staging, verify=False)
    fp32 = OnnxIntentClassifier(staging, verify=False, model_file=FP32_FILE)
    dev_texts = [e.text for e in dev]
    logits = int8.logits(dev_texts)
    temperature = fit_temperature(logits, y_dev)
    from edge_models.intent_onnx import softmax

    probs = softmax(logits, temperature)
    other = LABELS.index(OTHER_LABEL)
    choice = choose_threshold(probs, y_dev, error_cost=ERROR_COST, abstain=other)
    pred, top = probs.argmax(axis=1), probs.max(axis=1)
    claims = np.where(pred == other, 0.0, top)  # an "other" prediction claims nothing
    is_other = y_dev == other
    fp32_pred = fp32.logits(dev_texts).argmax(axis=1)
    golden = []
    for label in LABELS:
        hits = [(float(top[i]), e.text) for i, e in enumerate(dev) if e.intent == label and pred[i] == y_dev[i]]
        golden.extend({"text": text, "intent": label} for _, text in sorted(hits, reverse=True)[:2])
    (staging / CALIBRATION_FILE).write_text(
        json.dumps(
            {"labels": list(LABELS), "temperature": temperature, "threshold": choice.threshold}, indent=2
        ),
        encoding="utf-8",
    )
    (staging / GOLDEN_FILE).write_text(json.dumps(golden, ensure_ascii=False, indent=1), encoding="utf-8")
    shutil.move(str(staging / FP32_FILE), fp32_path)

    inputs = _inputs_hash(data_dir)
    metrics = {
        "train_examples": len(train),
        "dev_examples": len(dev),
        "vocabulary": len(featurizer.vocab),
        "c": best_c,
        "temperature": temperature,
        "threshold": choice.threshold,
        "dev_accuracy": round(float(np.mean(pred == y_dev)), 4),
        "dev_decided": round(choice.decided, 4),
        "dev_accuracy_decided": round(choice.accuracy_decided, 4),
        "dev_confident_error": round(choice.confident_error, 4),
        "dev_per_lang": _per_lang(dev, pred, claims, choice.threshold),
        "dev_other_banking_claimed": round(float(np.mean(claims[is_other] >= choice.threshold)), 4)
        if is_other.any()
        else None,
        "int8_fp32_agreement": round(float(np.mean(pred == fp32_pred)), 4),
        "size_int8_bytes": (staging / MODEL_FILE).stat().st_size,
        "size_fp32_bytes": fp32_path.stat().st_size,
    }
    write_manifest(
        staging,
        name=BUNDLE_NAME,
        kind="nlu",
        version=version or f"1.0.0+{inputs[:10]}",
        created=datetime.now(UTC).replace(microsecond=0).isoformat(),
        origin=origin,
        requires={"onnxruntime": ">=1.17"},
        metrics=metrics,
        source={
            "inputs_sha256": inputs,
            "model": "tf-idf char/word n-grams + multinomial logistic regression, int8 weights",
            "tools": {p: pkg_version(p) for p in ("scikit-learn", "onnx", "onnxruntime", "numpy")},
        },
    )
    OnnxIntentClassifier(staging).check_golden()
    shutil.rmtree(out_dir, ignore_errors=True)
    staging.rename(out_dir)
    return metrics


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("edge_models/data"))
    parser.add_argument("--out", type=Path, default=Path("build/bundles/nlu"))
    parser.add_argument("--origin", default="hq", choices=("hq", "seed"))
    parser.add_argument("--version", default=None)
    args = parser.parse_args(argv)
    metrics = build(args.data, args.out, origin=args.origin, version=args.version)
    json.dump(metrics, sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
