"""Write machine-written training examples for a new intent (digital RMB wallet, 数字人民币钱包).

Usage::

    python scripts/make_new_intent_examples.py [--out edge_models/data/candidates/digital_rmb_wallet.jsonl]

The rows are in the accepted-labels format (docs/hq/labels-format.md), so the
file feeds ``kiosk hq train --labels`` and ``scripts/learning_curve.py``. They
are MACHINE-WRITTEN from templates (deterministic, seed 0), not customer
utterances. The held evaluation set (tests/data/held/digital_rmb_wallet_held.jsonl)
is hand-written separately with other phrasings; none of its lines is produced here.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INTENT = "digital_rmb_wallet"
OUT = ROOT / "edge_models" / "data" / "candidates" / f"{INTENT}.jsonl"

ZH_SUBJECTS = ("数字人民币", "数字人民币钱包", "数币钱包", "数字人民币App", "e-CNY钱包", "数字钱包", "数字人民币硬钱包")
ZH_ACTIONS = (
    "怎么开通{s}",
    "我想开通{s}",
    "{s}怎么注册",
    "开个{s}要带什么",
    "{s}怎么绑定银行卡",
    "{s}怎么充值",
    "{s}里的钱怎么转回银行卡",
    "{s}怎么付款",
    "{s}的限额怎么提高",
    "{s}怎么升级到二类钱包",
    "{s}怎么注销",
    "{s}可以在这里办吗",
    "帮我开一下{s}",
    "{s}用不了了",
    "{s}是什么",
    "{s}和微信支付有什么区别",
    "{s}能在你们行开吗",
    "{s}怎么兑出来",
)
ZH_PREFIXES = ("", "你好，", "请问", "我想问一下", "麻烦问下", "想咨询下，", "那个", "")
ZH_SUFFIXES = ("", "？", "啊", "呢", "，谢谢", "")

EN_SUBJECTS = ("digital yuan wallet", "e-CNY wallet", "digital RMB wallet", "e-CNY", "digital renminbi", "DCEP wallet")
EN_ACTIONS = (
    "how do I open a {s}",
    "I want to set up a {s}",
    "can I register for {s} here",
    "how do I link my bank card to the {s}",
    "how to top up my {s}",
    "how do I move money from {s} back to my card",
    "how do I pay with {s}",
    "how can I raise the limit of my {s}",
    "how do I upgrade my {s}",
    "how to close my {s}",
    "what is {s}",
    "help me open a {s}",
    "my {s} is not working",
    "what do I need to bring to open a {s}",
)
EN_PREFIXES = ("", "hi, ", "excuse me, ", "hello ", "quick question: ", "")
EN_SUFFIXES = ("", "?", " please", " thanks", "")


def generate(seed: int = 0) -> list[dict[str, str]]:
    """Every template combination once, shuffled deterministically."""
    rows: dict[str, dict[str, str]] = {}
    for lang, subjects, actions, prefixes, suffixes in (
        ("zh", ZH_SUBJECTS, ZH_ACTIONS, ZH_PREFIXES, ZH_SUFFIXES),
        ("en", EN_SUBJECTS, EN_ACTIONS, EN_PREFIXES, EN_SUFFIXES),
    ):
        for action in actions:
            for subject in subjects:
                for prefix in prefixes:
                    for suffix in suffixes:
                        text = f"{prefix}{action.format(s=subject)}{suffix}"
                        rows.setdefault(
                            text, {"text": text, "lang": lang, "intent": INTENT, "source": "machine-written"}
                        )
    out = list(rows.values())
    random.Random(seed).shuffle(out)
    return out


def main(argv: list[str] | None = None) -> int:
    """Write the file; print how many rows per language."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--limit", type=int, default=1200, help="rows to keep (half per language where possible)")
    args = parser.parse_args(argv)
    rows = generate()
    zh = [r for r in rows if r["lang"] == "zh"][: args.limit // 2]
    en = [r for r in rows if r["lang"] == "en"][: args.limit - len(zh)]
    mixed = [row for pair in zip(zh, en, strict=False) for row in pair] + zh[len(en) :] + en[len(zh) :]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in mixed), encoding="utf-8")
    print(f"{args.out}: {len(mixed)} machine-written rows (zh {len(zh)}, en {len(en)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
