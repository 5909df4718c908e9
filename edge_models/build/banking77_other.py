"""Write ``banking77_train_other.tsv``: BANKING77 *training* questions without a kiosk intent.

Usage::

    python -m edge_models.build.banking77_other --train ../shared/data/banking77/train.csv \
        --out edge_models/data/banking77_train_other.tsv [--per-category 80] [--seed 0]

Reads only the BANKING77 **training** split (the test split is for evaluation
only). Categories that map to a kiosk intent (``shared/data/banking77/README.md``)
are in ``banking77_train_mapped.tsv``; of the others, those close to a kiosk
intent are left out (``CLOSE_TO_AN_INTENT``, docs/adr/0001-intent-model.md),
and up to ``--per-category`` rows of each remaining category are drawn with a
fixed seed per category (the same inputs write the same file; a larger
``--per-category`` keeps the rows of a smaller one).
"""

from __future__ import annotations

import argparse
import csv
import random
from collections import defaultdict
from pathlib import Path

# shared/data/banking77/README.md
MAPPED = frozenset(
    {
        "lost_or_stolen_card",
        "exchange_rate",
        "change_pin",
        "pin_blocked",
        "order_physical_card",
        "edit_personal_details",
        "cash_withdrawal_charge",
        "transfer_fee_charged",
        "exchange_charge",
        "card_payment_fee_charged",
        "age_limit",
    }
)
# Unmapped categories whose questions a kiosk intent may well serve (card delivery and activation,
# a compromised card, charges, exchange, passcodes, incoming money): never trained as "_other".
CLOSE_TO_AN_INTENT = frozenset(
    {
        "activate_my_card",
        "atm_support",
        "card_about_to_expire",
        "card_arrival",
        "card_delivery_estimate",
        "card_payment_wrong_exchange_rate",
        "card_swallowed",
        "compromised_card",
        "exchange_via_app",
        "extra_charge_on_statement",
        "get_physical_card",
        "getting_spare_card",
        "passcode_forgotten",
        "receiving_money",
        "top_up_by_bank_transfer_charge",
        "top_up_by_card_charge",
        "transfer_into_account",
        "transfer_timing",
        "wrong_exchange_rate_for_cash_withdrawal",
    }
)
PER_CATEGORY = 80
SEED = 0


def select(rows: list[dict[str, str]], per_category: int, seed: int = SEED) -> list[tuple[str, str]]:
    """``(text, category)`` of up to ``per_category`` rows of each category without a kiosk intent."""
    by_category: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        by_category[row["category"]].append(row["text"])
    out: list[tuple[str, str]] = []
    for category in sorted(by_category):
        if category in MAPPED or category in CLOSE_TO_AN_INTENT:
            continue
        texts = sorted(set(by_category[category]))
        random.Random(f"banking77-other:{seed}:{category}").shuffle(texts)
        out.extend((text, category) for text in texts[:per_category])
    return out


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, required=True, help="BANKING77 train.csv (text,category)")
    parser.add_argument("--out", type=Path, default=Path("edge_models/data/banking77_train_other.tsv"))
    parser.add_argument("--per-category", type=int, default=PER_CATEGORY)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    if args.train.name != "train.csv":
        parser.error("only the BANKING77 training split (train.csv) may be used")
    with args.train.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    selected = select(rows, args.per_category, args.seed)
    with args.out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(("text", "category"))
        writer.writerows(selected)
    print(f"{args.out}: {len(selected)} rows, {len({c for _, c in selected})} categories")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
