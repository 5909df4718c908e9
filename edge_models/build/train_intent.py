"""Build the ``nlu`` bundle: train, export to ONNX, quantize to int8, calibrate, evaluate.

Usage::

    python -m edge_models.build.train_intent --data edge_models/data --out build/bundles/nlu \
        [--embedder build/bundles/embedder] [--gemma-cache build/cache]

With ``--embedder``, a second head on that embedder's sentence vectors is
trained for text without Han characters and mixed in (edge_models/build/embed_head.py).
With ``--gemma-cache``, a token head on Gemma 3 270M's static token embeddings
is trained for text with Han characters and mixed in (edge_models/build/token_head.py).
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

from edge_models.build import embed_head, token_head
from edge_models.build.calibrate import choose_threshold, fit_temperature
from edge_models.build.data import Example, load_examples, merge_examples, split
from edge_models.build.onnx_graph import quantize_int8, write_linear_model
from edge_models.features import Featurizer, has_han
from edge_models.intent_head import GEMMA_HEAD_FILE, GEMMA_VOCAB_FILE, HEAD_FILE, TokenHead, embedder_identity
from edge_models.intent_onnx import (
    CALIBRATION_FILE,
    FEATURES_FILE,
    GOLDEN_FILE,
    MODEL_FILE,
    OTHER_LABEL,
    OnnxIntentClassifier,
)
from edge_models.intent_set import IntentDecl, write_intent_set
from kiosk.intents import INTENT_SET_FEATURE, INTENTS
from sync.bundle import staging_dir, swap_in_dir, write_manifest

BUNDLE_NAME = "nlu"
FP32_FILE = "model_fp32.onnx"
C_GRID = (10.0, 20.0, 40.0, 80.0, 160.0)
# A confident wrong answer is this many times worse than a clarification (docs/adr/0002).
ERROR_COST = 4.0
SEED = 0
# The contract labels, then the internal "other banking question" label (a build with added intents
# puts them between the two: see ``build(intents=...)``).
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


def _labels(examples: list[Example], labels: tuple[str, ...] = LABELS) -> npt.NDArray[np.int64]:
    return np.array([labels.index(e.intent) for e in examples], dtype=np.int64)


def _fit(
    x: Any, y: npt.NDArray[np.int64], c: float, n_labels: int = len(LABELS)
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=5000, random_state=SEED)
    model.fit(x, y)
    weights = np.zeros((x.shape[1], n_labels), dtype=np.float32)
    bias = np.zeros(n_labels, dtype=np.float32)
    weights[:, model.classes_] = model.coef_.T
    bias[model.classes_] = model.intercept_
    bias[np.setdiff1d(np.arange(n_labels), model.classes_)] = -1e4
    weights[0] = 0.0
    return weights, bias


def _inputs_hash(
    data_dir: Path, embedder_sha256: str | None, gguf_sha256: str | None = None, accepted: list[Example] | None = None
) -> str:
    digest = hashlib.sha256()
    for example in accepted or ():
        digest.update(f"{example.lang}\t{example.intent}\t{example.text}\n".encode())
    for path in sorted(data_dir.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(data_dir).as_posix().encode())
            digest.update(path.read_bytes())
    modules = ("features.py", "normalize.py", "intent_head.py", "build/train_intent.py", "build/calibrate.py")
    for module in (
        *modules,
        "token_features.py",
        "build/data.py",
        "build/embed_head.py",
        "build/token_head.py",
        "intent_explain.py",
    ):
        digest.update((Path(__file__).parents[1] / module).read_bytes())
    if embedder_sha256 is not None:
        digest.update(embedder_sha256.encode())
    if gguf_sha256 is not None:
        digest.update(gguf_sha256.encode())
    return digest.hexdigest()


def _utility(decided: npt.NDArray[np.bool_], correct: npt.NDArray[np.bool_]) -> dict[str, float]:
    return {
        "decided": round(float(decided.mean()), 4),
        "right": round(float(np.mean(decided & correct)), 4),
        "confident_error": round(float(np.mean(decided & ~correct)), 4),
    }


def _per_lang(
    examples: list[Example],
    pred: npt.NDArray[np.int64],
    top: npt.NDArray[np.float64],
    t: float,
    labels: tuple[str, ...] = LABELS,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for lang in ("zh", "en"):
        mask = np.array([e.lang == lang for e in examples])
        if not mask.any():
            continue
        y = _labels([e for e in examples if e.lang == lang], labels)
        correct = pred[mask] == y
        decided = top[mask] >= t
        out[lang] = {
            "n": int(mask.sum()),
            "accuracy": round(float(correct.mean()), 4),
            "decided": round(float(decided.mean()), 4),
            "confident_error": round(float(np.mean(decided & ~correct)), 4),
        }
    return out


def build(
    data_dir: Path,
    out_dir: Path,
    *,
    origin: str = "hq",
    version: str | None = None,
    embedder_dir: Path | None = None,
    gemma_gguf: Path | None = None,
    accepted: list[Example] | None = None,
    added: tuple[IntentDecl, ...] = (),
    c_grid: tuple[float, ...] = C_GRID,
) -> dict[str, Any]:
    """Train and write the bundle to ``out_dir``; return its metrics.

    Args:
        data_dir: Training data (``edge_models/data``).
        out_dir: Where the bundle goes (replaced atomically).
        origin: Manifest origin (``hq`` or ``seed``).
        version: Bundle version; by default derived from the inputs.
        embedder_dir: A built ``embedder`` bundle: train the second head on its vectors.
        gemma_gguf: The Gemma 3 270M GGUF: train the token head on its static token embeddings.
        accepted: Accepted (staff-labelled, masked) examples from HQ; they take precedence over a
            base example with the same normalised text and are split train/dev the same way.
        added: Intents beyond the built-in core, with display names; the bundle then declares
            them in ``intents.json`` and requires the kiosk feature ``intent-set-v2``.
        c_grid: Regularisation strengths tried on dev (one value: no search, for quick experiments).

    Raises:
        ModelError: the embedder bundle does not load.
        ModelHealthError: the written bundle fails its golden cases.
    """
    core = (*INTENTS, *(decl.label for decl in added))
    labels = (*core, OTHER_LABEL)
    examples = merge_examples(accepted or [], load_examples(data_dir, core))
    train, dev = split(examples)
    featurizer = Featurizer.fit([e.text for e in train])
    x_train, y_train = _matrix(featurizer, [e.text for e in train]), _labels(train, labels)
    x_dev, y_dev = _matrix(featurizer, [e.text for e in dev]), _labels(dev, labels)
    best_c, best_acc = c_grid[0], -1.0
    for c in c_grid if len(c_grid) > 1 else ():
        weights, bias = _fit(x_train, y_train, c, len(labels))
        acc = float(np.mean(np.asarray(x_dev @ weights + bias).argmax(axis=1) == y_dev))
        if acc > best_acc:
            best_c, best_acc = c, acc
    weights, bias = _fit(x_train, y_train, best_c, len(labels))

    staging = staging_dir(out_dir)
    fp32_path = out_dir.parent / f"{out_dir.name}-{FP32_FILE}"
    write_linear_model(staging / FP32_FILE, weights, bias)
    quantize_int8(staging / FP32_FILE, staging / MODEL_FILE)
    (staging / FEATURES_FILE).write_text(featurizer.to_json(), encoding="utf-8")

    # Calibrate the int8 model as it will run on the kiosk.
    (staging / CALIBRATION_FILE).write_text(
        json.dumps({"labels": list(labels), "temperature": 1.0, "threshold": 0.5}), encoding="utf-8"
    )
    (staging / GOLDEN_FILE).write_text("[]", encoding="utf-8")
    write_intent_set(staging, (*(IntentDecl(label=label) for label in INTENTS), *added))
    int8 = OnnxIntentClassifier(staging, verify=False)
    fp32 = OnnxIntentClassifier(staging, verify=False, model_file=FP32_FILE)
    dev_texts = [e.text for e in dev]
    logits = int8.logits(dev_texts)
    temperature = fit_temperature(logits, y_dev)
    from edge_models.intent_onnx import softmax

    probs = softmax(logits, temperature)
    other = labels.index(OTHER_LABEL)
    choice = choose_threshold(probs, y_dev, error_cost=ERROR_COST, abstain=other)
    pred, top = probs.argmax(axis=1), probs.max(axis=1)
    claims = np.where(pred == other, 0.0, top)  # an "other" prediction claims nothing
    is_other = y_dev == other
    fp32_pred = fp32.logits(dev_texts).argmax(axis=1)
    han_dev = np.array([has_han(t) for t in dev_texts])
    scripts = {
        script: choose_threshold(probs[mask], y_dev[mask], error_cost=ERROR_COST, abstain=other)
        for script, mask in (("han", han_dev), ("latin", ~han_dev))
    }
    calibration: dict[str, Any] = {
        "labels": list(labels),
        "temperature": temperature,
        "threshold": choice.threshold,
        "script_thresholds": {script: c.threshold for script, c in scripts.items()},
    }
    token_metrics: dict[str, Any] | None = None
    gguf_sha = None
    if gemma_gguf is not None:
        gguf_sha = token_head.gguf_sha256(gemma_gguf)
        tokens, table = token_head.read_token_table(gemma_gguf)
        vocabulary = token_head.fit_vocabulary(tokens, [e.text for e in train])
        han_texts = [t for t, m in zip(dev_texts, han_dev, strict=True) if m]
        x_tok_train = token_head.sentence_vectors(vocabulary, table, [e.text for e in train])
        x_tok_dev = token_head.sentence_vectors(vocabulary, table, han_texts)
        tok_fit = token_head.fit_token_head(
            table, x_tok_train, y_train, x_tok_dev, y_dev[han_dev], n_labels=len(labels)
        )
        del table, x_tok_train
        write_linear_model(staging / "gemma_fp32.onnx", tok_fit.weights, tok_fit.bias)
        quantize_int8(staging / "gemma_fp32.onnx", staging / GEMMA_HEAD_FILE)
        (staging / "gemma_fp32.onnx").unlink()
        (staging / GEMMA_VOCAB_FILE).write_text(vocabulary.to_json(), encoding="utf-8")
        tok_logits = TokenHead(staging / GEMMA_HEAD_FILE, staging / GEMMA_VOCAB_FILE, len(labels)).logits(han_texts)
        tok_mix = embed_head.choose_mix(
            probs[han_dev], tok_logits, y_dev[han_dev], error_cost=ERROR_COST, abstain=other
        )
        calibration["token_head"] = {
            "gguf_sha256": gguf_sha,
            "temperature": tok_mix.temperature,
            "weight": tok_mix.weight,
            "mix_temperature": tok_mix.mix_temperature,
            "threshold": tok_mix.threshold.threshold,
            "c": tok_fit.c,
        }
        token_metrics = {
            "c": tok_fit.c,
            "vocabulary": len(vocabulary.vocab),
            "dev_examples": int(han_dev.sum()),
            "head_dev_accuracy": round(tok_fit.dev_accuracy, 4),
            "weight": tok_mix.weight,
            "threshold": tok_mix.threshold.threshold,
            "mix_dev_accuracy": round(tok_mix.mix_dev_accuracy, 4),
            "mix_dev_decided": round(tok_mix.threshold.decided, 4),
            "mix_dev_confident_error": round(tok_mix.threshold.confident_error, 4),
        }
    head_metrics: dict[str, Any] | None = None
    embedder = None
    embedder_sha = None
    if embedder_dir is not None:
        from edge_models.embedder_onnx import OnnxEmbedder

        embedder = OnnxEmbedder(embedder_dir)
        embedder_sha = embedder_identity(embedder)
        if embedder_sha is None:
            raise ValueError(f"{embedder_dir}: manifest names no model.onnx")
        latin_train = [e for e in train if not has_han(e.text)]
        latin_dev = ~han_dev
        x_head_train = embedder.embed([e.text for e in latin_train])
        x_head_dev = embedder.embed([t for t, m in zip(dev_texts, latin_dev, strict=True) if m])
        fit = embed_head.fit_head(x_head_train, _labels(latin_train, labels), x_head_dev, y_dev[latin_dev], len(labels))
        embed_head.write_head_model(staging / HEAD_FILE, fit.weights, fit.bias)
        embed_head.write_head_examples(staging, latin_train, x_head_train)
        head_logits = embed_head.head_dev_logits(staging / HEAD_FILE, x_head_dev, len(labels))
        mix = embed_head.choose_mix(
            probs[latin_dev], head_logits, y_dev[latin_dev], error_cost=ERROR_COST, abstain=other
        )
        calibration["embed_head"] = embed_head.head_calibration(fit, mix, embedder_sha)
        head_metrics = {
            "c": fit.c,
            "train_examples": len(latin_train),
            "dev_examples": int(latin_dev.sum()),
            "head_dev_accuracy": round(fit.head_dev_accuracy, 4),
            "weight": mix.weight,
            "threshold": mix.threshold.threshold,
            "mix_dev_accuracy": round(mix.mix_dev_accuracy, 4),
            "mix_dev_decided": round(mix.threshold.decided, 4),
            "mix_dev_confident_error": round(mix.threshold.confident_error, 4),
        }
    (staging / CALIBRATION_FILE).write_text(json.dumps(calibration, indent=2), encoding="utf-8")

    # The model stage as the kiosk runs it (per-script thresholds, the head where it runs), with and
    # without the embedder; golden cases must pass both ways.
    runs = {"tfidf": OnnxIntentClassifier(staging, verify=False)}
    if embedder is not None:
        runs["with_head"] = OnnxIntentClassifier(staging, verify=False, embedder=embedder)
    stage: dict[str, Any] = {}
    right_everywhere = np.ones(len(dev), dtype=bool)
    final_top = top
    for name, model in runs.items():
        run_probs = model.predict_batch(dev_texts)
        run_pred = run_probs.argmax(axis=1)
        run_top = run_probs.max(axis=1)
        thresholds = np.array([model.threshold_for(t) for t in dev_texts])
        run_claims = np.where(run_pred == other, 0.0, run_top)
        stage[name] = _utility(run_claims >= thresholds, run_pred == y_dev)
        right_everywhere &= run_pred == y_dev
        final_top = run_top
    golden: list[dict[str, str]] = []
    for label in labels:
        hits = [(float(final_top[i]), e.text) for i, e in enumerate(dev) if e.intent == label and right_everywhere[i]]
        golden.extend({"text": text, "intent": label} for _, text in sorted(hits, reverse=True)[:2])
    (staging / GOLDEN_FILE).write_text(json.dumps(golden, ensure_ascii=False, indent=1), encoding="utf-8")
    shutil.move(str(staging / FP32_FILE), fp32_path)

    inputs = _inputs_hash(data_dir, embedder_sha, gguf_sha, accepted)
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
        "dev_per_lang": _per_lang(dev, pred, claims, choice.threshold, labels),
        "accepted_examples": len(accepted or []),
        "added_intents": [decl.label for decl in added],
        "dev_other_banking_claimed": round(float(np.mean(claims[is_other] >= choice.threshold)), 4)
        if is_other.any()
        else None,
        "dev_script_thresholds": {script: c.threshold for script, c in scripts.items()},
        "dev_model_stage": stage,
        "embed_head": head_metrics,
        "token_head": token_metrics,
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
        requires_features=(INTENT_SET_FEATURE,) if added else (),
        metrics=metrics,
        source={
            "inputs_sha256": inputs,
            "model": "tf-idf char/word n-grams + multinomial logistic regression, int8 weights"
            + ("; second head: logistic regression on MiniLM sentence vectors (fp32)" if embedder_sha else "")
            + ("; token head: Gemma 3 270M static token embeddings, int8 lookup" if gguf_sha else ""),
            "gguf_sha256": gguf_sha,
            "embedder_sha256": embedder_sha,
            "tools": {p: pkg_version(p) for p in ("scikit-learn", "onnx", "onnxruntime", "numpy")},
        },
    )
    OnnxIntentClassifier(staging).check_golden()
    if embedder is not None:
        OnnxIntentClassifier(staging, embedder=embedder).check_golden()
    swap_in_dir(staging, out_dir)
    return metrics


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("edge_models/data"))
    parser.add_argument("--out", type=Path, default=Path("build/bundles/nlu"))
    parser.add_argument("--origin", default="hq", choices=("hq", "seed"))
    parser.add_argument("--version", default=None)
    parser.add_argument("--embedder", type=Path, default=None, help="embedder bundle for the second head")
    parser.add_argument(
        "--gemma-cache", type=Path, default=None, help="folder for the Gemma GGUF: train the token head (Han text)"
    )
    args = parser.parse_args(argv)
    gguf = token_head.gemma_gguf(args.gemma_cache) if args.gemma_cache is not None else None
    metrics = build(
        args.data, args.out, origin=args.origin, version=args.version, embedder_dir=args.embedder, gemma_gguf=gguf
    )
    json.dump(metrics, sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
