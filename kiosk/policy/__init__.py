"""The policy bundle: headquarters' answers, rules, rates, flows and thresholds."""

from kiosk.policy.loader import POLICY_FILES, Policy, PolicyError, load_policy
from kiosk.policy.schema import FaqEntry, Knowledge, Patterns, RateTable, Rules, Safety, Text, Thresholds

__all__ = [
    "POLICY_FILES",
    "FaqEntry",
    "Knowledge",
    "Patterns",
    "Policy",
    "PolicyError",
    "RateTable",
    "Rules",
    "Safety",
    "Text",
    "Thresholds",
    "load_policy",
]
