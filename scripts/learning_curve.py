"""Learning curve of a new intent: train with 20 / 50 / 100 / 500 of its examples, score right and confident errors.

Usage::

    python scripts/learning_curve.py [--sizes 20,50,100,500] [--c 40] [--embedder build/bundles/embedder]

For each size, the NLU bundle is rebuilt from the base data (``edge_models/data``)
plus the first N rows of the new intent's examples (as ``kiosk hq train`` would
take accepted labels; about 15% of them go to the calibration dev split, as all
data does), then scored on (a) a SEPARATE held set of the new intent and (b) the
base dev split of the 25 core intents. "right" = decided and correct, "confident
error" = decided and wrong (the model stage as the kiosk runs it, at the bundle's
thresholds). One regularisation strength (``--c``) instead of the build's search
keeps each build to about a minute of CPU.

The new intent's training rows are MACHINE-WRITTEN from templates
(scripts/make_new_intent_examples.py); the held set is hand-written with other
phrasings and never trained on. No evaluation split of the project is used.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge_models.build.data import load_examples, split  # noqa: E402
from edge_models.build.gates import rates  # noqa: E402
from edge_models.build.retrain import score, to_examples  # noqa: E402
from edge_models.build.train_intent import build  # noqa: E402
from edge_models.intent_onnx import OnnxIntentClassifier  # noqa: E402
from edge_models.intent_set import IntentDecl  # noqa: E402
from edge_models.normalize import Normalizer  # noqa: E402
from kiosk.intents import INTENTS  # noqa: E402

INTENT = "digital_rmb_wallet"
EXAMPLES = ROOT / "edge_models" / "data" / "candidates" / f"{INTENT}.jsonl"
HELD = ROOT / "tests" / "data" / "held" / f"{INTENT}_held.jsonl"


def _rows(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main(argv: list[str] | None = None) -> int:
    """Build and score one bundle per size; print a table (and JSON lines with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "edge_models" / "data")
    parser.add_argument("--examples", type=Path, default=EXAMPLES)
    parser.add_argument("--held", type=Path, default=HELD)
    parser.add_argument("--sizes", default="20,50,100,500")
    parser.add_argument("--c", type=float, default=40.0, help="regularisation strength (no search)")
    parser.add_argument("--embedder", type=Path, default=None, help="embedder bundle: train the second head too")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "learning_curve")
    parser.add_argument("--json", action="store_true", help="also print one JSON line per size")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    examples = _rows(args.examples)
    held_rows = _rows(args.held)
    held_texts = set()
    normalize = Normalizer()
    held = [(normalize(r["text"]).text, r["lang"]) for r in held_rows]
    held_texts = {text for text, _ in held}
    leaked = [r["text"] for r in examples if normalize(r["text"]).text in held_texts]
    if leaked:
        print(f"held examples appear in the training rows: {leaked[:3]}", file=sys.stderr)
        return 1
    if max(sizes) > len(examples):
        print(f"only {len(examples)} examples in {args.examples}", file=sys.stderr)
        return 1
    _, dev = split(load_examples(args.data, INTENTS))
    dev_texts, dev_truth, dev_langs = [e.text for e in dev], [e.intent for e in dev], [e.lang for e in dev]
    decl = IntentDecl(label=INTENT, zh="数字人民币钱包", en="Digital RMB wallet")
    print(
        f"new intent {INTENT}: training rows are MACHINE-WRITTEN ({args.examples.relative_to(ROOT)}); "
        f"held set ({len(held)} rows, hand-written, never trained on): {args.held.relative_to(ROOT)}"
    )
    print(f"core dev split: {len(dev)} examples of the base data; C={args.c}; embedder: {args.embedder or 'none'}")
    header = f"{'N':>5}  {'held right':>10}  {'held conf.err':>13}  {'dev right':>9}  {'dev conf.err':>12}  "
    print(header + f"{'dev -> new':>10}  {'build s':>7}")
    for n in sizes:
        accepted = to_examples([(r["text"], r["lang"], r["intent"]) for r in examples[:n]])
        out = args.work / f"n{n}"
        start = time.perf_counter()
        build(
            args.data,
            out,
            version=f"0.0.0-curve{n}",
            embedder_dir=args.embedder,
            accepted=accepted,
            added=(decl,),
            c_grid=(args.c,),
        )
        seconds = time.perf_counter() - start
        embedder = None
        if args.embedder is not None:
            from edge_models.embedder_onnx import OnnxEmbedder

            embedder = OnnxEmbedder(args.embedder)
        model = OnnxIntentClassifier(out, embedder=embedder)
        held_scores = score(model, [t for t, _ in held], [INTENT] * len(held), [lang for _, lang in held])
        dev_scores = score(model, dev_texts, dev_truth, dev_langs)
        h_right, h_err = rates(held_scores)
        d_right, d_err = rates(dev_scores)
        stolen = sum(s.pred == INTENT for s in dev_scores)
        print(
            f"{n:>5}  {h_right:>10.3f}  {h_err:>13.3f}  {d_right:>9.3f}  {d_err:>12.3f}  {stolen:>10}  {seconds:>7.0f}"
        )
        if args.json:
            row = {"n": n, "held_right": h_right, "held_confident_error": h_err, "dev_right": d_right}
            row |= {"dev_confident_error": d_err, "dev_predicted_new": stolen, "build_s": round(seconds, 1)}
            print(json.dumps(row))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
