"""Choose the LLM stage's threshold on the dev split (never on an evaluation set).

    .venv/bin/python scripts/calibrate_llm.py [--limit 150]

For dev utterances the intent model is unsure about (in the LLM's languages),
asks the LLM to choose among the model's top candidates and prints, per
threshold, how many it would decide, how many right and wrong, and the
utility (right - 4 x wrong, as for the model threshold).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from edge_models.build.data import load_examples, split
from kiosk.assembly import build_engine
from kiosk.config import Settings
from kiosk.intents import INTENTS

ROOT = Path(__file__).resolve().parents[1]
ERROR_COST = 4.0


def main() -> int:
    parser = argparse.ArgumentParser(description="LLM threshold on the dev split")
    parser.add_argument("--limit", type=int, default=150)
    parser.add_argument("--budget", type=float, default=60.0)
    args = parser.parse_args()
    _, dev = split(load_examples(ROOT / "edge_models" / "data", INTENTS))
    rows = []
    with tempfile.TemporaryDirectory() as state:
        engine, health = build_engine(Settings(state_dir=Path(state), llm_budget_s=args.budget))
        understander = engine.understander
        llm = understander._llm
        if llm is None:
            print(json.dumps({"error": "no LLM", "problems": health.problems}))
            return 1
        for example in dev:
            if example.lang not in llm.languages or example.intent.startswith("_"):
                continue
            candidates, _ = understander._predict(example.text)
            if not candidates or candidates[0].confidence >= understander.model_threshold:
                continue
            labels = [c.intent for c in candidates[:4]]
            if "out_of_scope" not in labels:
                labels.append("out_of_scope")
            answer = llm.classify(example.text, labels)
            if answer is not None:
                rows.append((answer[1], answer[0] == example.intent))
            if len(rows) >= args.limit:
                break
    table = []
    for t in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95):
        decided = [ok for p, ok in rows if p >= t]
        right = sum(decided)
        wrong = len(decided) - right
        table.append(
            {
                "threshold": t,
                "decided": len(decided),
                "right": right,
                "wrong": wrong,
                "utility": right - ERROR_COST * wrong,
            }
        )
    print(json.dumps({"llm": health.llm_version, "unsure_dev_utterances": len(rows), "table": table}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
