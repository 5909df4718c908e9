"""The intent labels: the contract in ``shared/spec/intents.md``."""

from __future__ import annotations

from typing import Final

INTENTS: Final[tuple[str, ...]] = (
    "greeting",
    "goodbye",
    "smalltalk",
    "human_agent",
    "queue_ticket",
    "branch_info",
    "card_lost",
    "card_apply",
    "account_open",
    "pin_reset",
    "account_unfreeze",
    "balance_inquiry",
    "transfer",
    "exchange_rate",
    "currency_exchange",
    "deposit_rates",
    "wealth_products",
    "loan_inquiry",
    "credit_card",
    "update_info",
    "mobile_banking",
    "fees",
    "complaint",
    "fraud_report",
    "out_of_scope",
)

OUT_OF_SCOPE: Final = "out_of_scope"

LANGS: Final[tuple[str, ...]] = ("zh", "en")
