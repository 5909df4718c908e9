"""Evaluate the cascade on the BANKING77 test split (evaluation only: never train on it).

    .venv/bin/python scripts/eval_banking77.py [../shared/data/banking77/test.csv]

Questions whose category maps to a kiosk intent (mapping in
shared/data/banking77/README.md): accuracy and confident errors. Questions of
the other categories are banking questions the kiosk has no intent for: how
often the cascade still claims one of its intents confidently (stage model,
llm or rules with an intent other than out_of_scope), how often it declines,
clarifies, or answers from the FAQ.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

from kiosk.assembly import build_engine, wait_for_llm
from kiosk.config import DEFAULT_POLICY_DIR, DEFAULT_SEED_DIR, Settings

ROOT = Path(__file__).resolve().parents[1]
MAPPING = {
    "lost_or_stolen_card": "card_lost",
    "exchange_rate": "exchange_rate",
    "change_pin": "pin_reset",
    "pin_blocked": "pin_reset",
    "order_physical_card": "card_apply",
    "edit_personal_details": "update_info",
    "cash_withdrawal_charge": "fees",
    "transfer_fee_charged": "fees",
    "exchange_charge": "fees",
    "card_payment_fee_charged": "fees",
    "age_limit": "account_open",
}


def main() -> int:
    parser = argparse.ArgumentParser(description="BANKING77 test evaluation")
    parser.add_argument(
        "data", type=Path, nargs="?", default=ROOT.parent / "shared" / "data" / "banking77" / "test.csv"
    )
    parser.add_argument("--no-model", action="store_true")
    parser.add_argument("--no-llm", action="store_true", help="without the LLM stage")
    parser.add_argument("--llm-budget", type=float, default=3.0, help="LLM time budget per call (shipped: 3 s)")
    parser.add_argument("--llm-nice", type=int, default=10, help="nice value of the LLM's threads (shipped: 10)")
    parser.add_argument("--nlu", type=Path, default=DEFAULT_SEED_DIR / "nlu", help="the nlu bundle to evaluate")
    parser.add_argument("--no-embedder", action="store_true", help="without the sentence embedder (no second head)")
    args = parser.parse_args()
    if not args.data.is_file():
        print(f"no BANKING77 test split at {args.data}", file=sys.stderr)
        return 1
    with args.data.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    mapped: Counter[str] = Counter()
    other: Counter[str] = Counter()
    with tempfile.TemporaryDirectory() as state:
        settings = Settings(
            state_dir=Path(state),
            seed_dirs=(DEFAULT_POLICY_DIR, args.nlu, DEFAULT_SEED_DIR / "llm", DEFAULT_SEED_DIR / "embedder"),
            use_model=not args.no_model,
            use_embedder=not args.no_embedder,
            use_llm=not args.no_llm,
            llm_budget_s=args.llm_budget,
            llm_nice=args.llm_nice,
        )
        engine, health = build_engine(settings)
        wait_for_llm(engine)
        for row in rows:
            _, u = engine.understand(row["text"])
            decided = u.stage != "fallback"
            gold = MAPPING.get(row["category"])
            if gold is not None:
                mapped["n"] += 1
                mapped["correct"] += decided and u.intent == gold
                mapped["confident_error"] += decided and u.intent != gold
                mapped["fallback"] += not decided
            else:
                other["n"] += 1
                claimed = decided and u.intent != "out_of_scope"
                other["claimed_intent"] += claimed
                other["declined"] += decided and u.intent == "out_of_scope"
                other["fallback"] += not decided
                other[f"stage_{u.stage}"] += claimed

    def rates(c: Counter[str]) -> dict[str, float | int]:
        n = max(1, c["n"])
        return {"n": c["n"], **{k: round(v / n, 4) for k, v in sorted(c.items()) if k != "n"}}

    print(
        json.dumps(
            {
                "model": health.nlu_version,
                "policy": health.policy_version,
                "mapped": rates(mapped),
                "unmapped": rates(other),
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
