"""Chinese question matching on real bank customer questions (BQ corpus, evaluation only).

    .venv/bin/python scripts/eval_bq.py [../shared/data/bq/dev.tsv]

The matcher scores a pair of questions by the cosine of their TF-IDF vectors
over the retrieval features (Han character 1-3-grams), with IDF weights from
the project's own Chinese training data. The threshold is chosen on the
project's own data (pairs of training utterances: same intent vs different
intent), never on BQ. Prints ROC AUC and accuracy at that threshold.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from edge_models.features import extract
from edge_models.normalize import Normalizer
from edge_models.retrieval import tfidf_cosine

ROOT = Path(__file__).resolve().parents[1]


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    # average ranks of ties
    for value in np.unique(scores):
        tie = scores == value
        if tie.sum() > 1:
            ranks[tie] = ranks[tie].mean()
    pos = labels == 1
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def best_threshold(scores: np.ndarray, labels: np.ndarray) -> float:
    candidates = np.unique(np.round(scores, 3))
    accs = [((scores >= t) == (labels == 1)).mean() for t in candidates]
    return float(candidates[int(np.argmax(accs))])


def main() -> int:
    parser = argparse.ArgumentParser(description="BQ question matching")
    parser.add_argument("data", type=Path, nargs="?", default=ROOT.parent / "shared" / "data" / "bq" / "dev.tsv")
    args = parser.parse_args()
    if not args.data.is_file():
        print(f"no BQ data at {args.data}", file=sys.stderr)
        return 1
    normalize = Normalizer()
    own: list[tuple[str, str]] = []
    for path in sorted((ROOT / "edge_models" / "data" / "intents" / "zh").glob("*.txt")):
        own += [(normalize(line).text, path.stem) for line in path.read_text(encoding="utf-8").splitlines() if line]
    df: Counter[str] = Counter()
    for text, _ in own:
        df.update(set(extract(text)))
    idf = {t: math.log((1 + len(own)) / (1 + d)) + 1.0 for t, d in df.items()}

    rng = random.Random(0)
    own_scores, own_labels = [], []
    by_intent: dict[str, list[str]] = {}
    for text, intent in own:
        by_intent.setdefault(intent, []).append(text)
    intents = sorted(by_intent)
    for _ in range(4000):
        a = rng.choice(intents)
        same = rng.random() < 0.5
        b = a if same else rng.choice([i for i in intents if i != a])
        own_scores.append(tfidf_cosine(rng.choice(by_intent[a]), rng.choice(by_intent[b]), idf))
        own_labels.append(int(same))
    threshold = best_threshold(np.array(own_scores), np.array(own_labels))

    scores, labels = [], []
    with args.data.open(encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle, delimiter="\t"):
            if len(row) != 3 or row[2] not in ("0", "1"):
                continue
            scores.append(tfidf_cosine(normalize(row[0]).text, normalize(row[1]).text, idf))
            labels.append(int(row[2]))
    s, y = np.array(scores), np.array(labels)
    print(
        json.dumps(
            {
                "pairs": len(y),
                "positives": int(y.sum()),
                "roc_auc": round(roc_auc(s, y), 4),
                "threshold_from_own_data": threshold,
                "accuracy_at_threshold": round(float(((s >= threshold) == (y == 1)).mean()), 4),
                "majority_baseline": round(float(max(y.mean(), 1 - y.mean())), 4),
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
