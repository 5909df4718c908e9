"""Choose the LLM stage's threshold on the dev split (never on an evaluation set).

    .venv/bin/python scripts/calibrate_llm.py [--limit 80]

For dev utterances the intent model is unsure about (below
``understander.threshold_for(text)``, in the LLM's languages), asks the LLM to
choose among the model's top candidates and prints, per script (Han / other
text) and threshold, how many it would decide, how many right and wrong, and the
utility (right - 4 x wrong, as for the model threshold). The chosen threshold per
script is the one with the best positive utility (1.0, off, when none is
positive); the last line is the ``llm:`` value for thresholds.yaml.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from edge_models.build.data import load_examples, split
from kiosk.assembly import build_engine, wait_for_llm
from kiosk.config import Settings
from kiosk.intents import INTENTS
from kiosk.policy.schema import has_han

ROOT = Path(__file__).resolve().parents[1]
ERROR_COST = 4.0


def main() -> int:
    parser = argparse.ArgumentParser(description="LLM threshold on the dev split")
    parser.add_argument("--limit", type=int, default=80, help="unsure dev utterances per script")
    parser.add_argument("--budget", type=float, default=30.0)
    args = parser.parse_args()
    _, dev = split(load_examples(ROOT / "edge_models" / "data", INTENTS))
    rows: dict[str, list[tuple[float, bool]]] = {"han": [], "other": []}
    with tempfile.TemporaryDirectory() as state:
        engine, health = build_engine(Settings(state_dir=Path(state), llm_budget_s=args.budget))
        wait_for_llm(engine)
        understander = engine.understander
        llm = understander.llm
        if llm is None:
            print(json.dumps({"error": "no LLM", "problems": health.problems}))
            return 1
        for example in dev:
            if example.lang not in llm.languages or example.intent.startswith("_"):
                continue
            script = "han" if has_han(example.text) else "other"
            if len(rows[script]) >= args.limit:
                continue
            candidates, _ = understander._predict(example.text)
            if not candidates or candidates[0].confidence >= understander.threshold_for(example.text):
                continue
            labels = [c.intent for c in candidates[:4]]
            if "out_of_scope" not in labels:
                labels.append("out_of_scope")
            answer = llm.classify(example.text, labels)
            if answer is not None:
                rows[script].append((answer[1], answer[0] == example.intent))
            if all(len(r) >= args.limit for r in rows.values()):
                break
    chosen: dict[str, float] = {}
    report: dict[str, object] = {"llm": health.llm_version}
    for script, found in rows.items():
        table = []
        for t in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.97, 0.99):
            decided = [ok for p, ok in found if p >= t]
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
        best = max(table, key=lambda row: (float(str(row["utility"])), -float(str(row["threshold"]))))
        chosen[script] = float(str(best["threshold"])) if float(str(best["utility"])) > 0 else 1.0
        report[script] = {"unsure_dev_utterances": len(found), "table": table}
    report["chosen"] = chosen
    print(json.dumps(report, indent=1))
    print(f"llm: {{han: {chosen['han']}, other: {chosen['other']}}}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
