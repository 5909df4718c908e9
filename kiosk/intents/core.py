"""The built-in core intent labels (``shared/spec/intents.md``) and the kiosk's runtime features.

The 25 labels of the contract are the core every policy answers. The intent set
a kiosk serves comes from its loaded bundles: the NLU bundle's ``intents.json``
and the policy's answers and display names may add labels (a new service) to the
core without a software release (docs/adr/0013-intent-set-from-bundles.md).
"""

from __future__ import annotations

import re
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
"""The built-in core: every policy answers these."""

CORE_INTENTS: Final = INTENTS

OUT_OF_SCOPE: Final = "out_of_scope"

LANGS: Final[tuple[str, ...]] = ("zh", "en")

LABEL_PATTERN: Final = re.compile(r"^[a-z][a-z0-9_]{1,47}$")
"""What an added intent label looks like (the core labels match it too)."""

INTENT_SET_FEATURE: Final = "intent-set-v2"
"""A bundle with intents beyond the core needs this feature of the kiosk."""

KIOSK_FEATURES: Final[frozenset[str]] = frozenset({INTENT_SET_FEATURE})
"""Runtime features this kiosk has; a bundle's ``requires_features`` must be a subset."""


def is_label(name: str) -> bool:
    """True when ``name`` is a well-formed intent label."""
    return bool(LABEL_PATTERN.fullmatch(name))
