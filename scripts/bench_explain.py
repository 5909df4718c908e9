"""What "why this answer" costs per turn: the cascade with and without the model's explanation.

Loads the built nlu bundle (and the embedder for the MiniLM head), then times
``predict`` alone and ``predict`` + ``explain`` (exact n-gram contributions, and
nearest training examples for English) on a few kiosk phrasings written here
(not an evaluation split). Prints median and p95 in ms.

    .venv/bin/python scripts/bench_explain.py [--rounds 100]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TEXTS = {
    "zh": ["我的银行卡丢了", "我要取号", "今天美元汇率多少", "开户需要带什么", "转账手续费怎么算"],
    "en": [
        "I lost my card, please block it",
        "I need a queue ticket",
        "what's the euro rate today",
        "how do I open an account",
        "is there a fee for transfers",
    ],
}


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered):.2f} ms, p95 {p95:.2f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--nlu", type=Path, default=ROOT / "build/bundles/nlu")
    parser.add_argument("--embedder", type=Path, default=ROOT / "build/bundles/embedder")
    args = parser.parse_args()

    from edge_models.embedder_onnx import OnnxEmbedder
    from edge_models.intent_onnx import OnnxIntentClassifier
    from edge_models.normalize import Normalizer

    classifier = OnnxIntentClassifier(args.nlu, embedder=OnnxEmbedder(args.embedder))
    normalize = Normalizer()
    print(
        f"nlu {classifier.version}; head active {classifier.head_active}; "
        f"examples kept {0 if classifier.examples is None else len(classifier.examples.texts)}"
    )
    for lang, texts in TEXTS.items():
        norms = [normalize(t).text for t in texts]
        plain: list[float] = []
        explained: list[float] = []
        for _ in range(args.rounds):
            for text in norms:
                started = time.perf_counter()
                top = classifier.predict(text)[0][0]
                plain.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                top = classifier.predict(text)[0][0]
                classifier.explain(text, top)
                explained.append((time.perf_counter() - started) * 1000)
        print(f"{lang}: predict {_ms(plain)}; predict + explain {_ms(explained)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
