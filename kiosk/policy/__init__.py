"""The policy bundle: headquarters' answers, rules, rates, flows and thresholds."""

from kiosk.policy.loader import POLICY_FILES, Policy, PolicyError, load_policy

__all__ = ["POLICY_FILES", "Policy", "PolicyError", "load_policy"]
