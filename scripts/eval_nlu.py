"""Evaluate the whole understanding cascade on a labelled set.

    .venv/bin/python scripts/eval_nlu.py tests/data/nlu_unseen.tsv [--no-model] [--errors]

The TSV has columns text, lang, intent. An utterance counts as correct when
the cascade decides its intent (any stage but fallback), or when it is
out-of-scope text and the cascade declines it (decides out_of_scope, or
falls back). A confident error is a decided, wrong intent.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from kiosk.assembly import build_engine, wait_for_llm
from kiosk.config import DEFAULT_POLICY_DIR, DEFAULT_SEED_DIR, Settings


def main() -> int:
    parser = argparse.ArgumentParser(description="Evaluate the understanding cascade.")
    parser.add_argument("data", type=Path)
    parser.add_argument("--no-model", action="store_true", help="rules only")
    parser.add_argument("--no-llm", action="store_true", help="without the LLM stage")
    parser.add_argument("--errors", action="store_true", help="list the confident errors")
    parser.add_argument("--llm-budget", type=float, default=3.0, help="LLM time budget per call (shipped: 3 s)")
    parser.add_argument("--llm-nice", type=int, default=10, help="nice value of the LLM's threads (shipped: 10)")
    parser.add_argument("--nlu", type=Path, default=DEFAULT_SEED_DIR / "nlu", help="the nlu bundle to evaluate")
    parser.add_argument("--no-embedder", action="store_true", help="without the sentence embedder (no second head)")
    args = parser.parse_args()
    with args.data.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    with tempfile.TemporaryDirectory() as state:
        engine, health = build_engine(
            Settings(
                state_dir=Path(state),
                seed_dirs=(DEFAULT_POLICY_DIR, args.nlu, DEFAULT_SEED_DIR / "llm", DEFAULT_SEED_DIR / "embedder"),
                use_model=not args.no_model,
                use_llm=not args.no_llm,
                use_embedder=not args.no_embedder,
                llm_budget_s=args.llm_budget,
                llm_nice=args.llm_nice,
            )
        )
        wait_for_llm(engine)  # a kiosk reads the LLM's prompt ahead before its first customer
        for problem in health.problems:
            print(f"note: {problem}", file=sys.stderr)
        stats: dict[str, Counter[str]] = {"all": Counter(), "zh": Counter(), "en": Counter()}
        stages: Counter[str] = Counter()
        errors = []
        llm = engine.understander.llm
        latency_ms: dict[str, list[float]] = {"llm_asked": [], "llm_not_asked": []}
        started = time.perf_counter()
        for row in rows:
            calls, t0 = getattr(llm, "calls", 0), time.perf_counter()
            _, u = engine.understand(row["text"])
            asked = getattr(llm, "calls", 0) > calls
            latency_ms["llm_asked" if asked else "llm_not_asked"].append((time.perf_counter() - t0) * 1000)
            gold = row["intent"]
            stages[u.stage] += 1
            decided = u.stage != "fallback"
            correct = (decided and u.intent == gold) or (gold == "out_of_scope" and not decided)
            for key in ("all", row["lang"]):
                c = stats[key]
                c["n"] += 1
                c["correct"] += correct
                c["confident_error"] += decided and u.intent != gold
                c["fallback"] += not decided
            if decided and u.intent != gold:
                errors.append((row["text"], gold, u.intent, u.stage, round(u.confidence, 3)))
        elapsed = time.perf_counter() - started
    report = {
        "data": str(args.data),
        "model": health.nlu_version,
        "llm": health.llm_version,
        "policy": health.policy_version,
        "llm_budget_s": args.llm_budget,
        "load_average": Path("/proc/loadavg").read_text().split()[:3],
        "ms_per_utterance": round(elapsed * 1000 / max(1, len(rows)), 3),
        "stages": dict(stages),
        "latency_ms": {
            kind: {"turns": len(v), "p50": round(_pct(v, 50), 1), "p95": round(_pct(v, 95), 1)}
            for kind, v in latency_ms.items()
        },
    }
    for key, c in stats.items():
        n = max(1, c["n"])
        report[key] = {
            "n": c["n"],
            "correct": round(c["correct"] / n, 4),
            "confident_error": round(c["confident_error"] / n, 4),
            "fallback": round(c["fallback"] / n, 4),
        }
    print(json.dumps(report, ensure_ascii=False, indent=2))
    if args.errors:
        for error in errors:
            print("\t".join(map(str, error)))
    return 0


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] if ordered else 0.0


if __name__ == "__main__":
    raise SystemExit(main())
