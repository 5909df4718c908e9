"""The policy's keyword rules: the stage after an unsure model."""

from __future__ import annotations

from kiosk.dialogue.patterns import PatternSet
from kiosk.policy import Rules


class RuleMatcher:
    """Matches normalised text against each intent's keyword patterns."""

    def __init__(self, rules: Rules) -> None:
        self._rules = {intent: PatternSet(patterns) for intent, patterns in rules.intents.items()}

    def match(self, text: str) -> list[tuple[str, int]]:
        """Intents whose patterns match, with the number of patterns that hit, best first."""
        hits = [(intent, patterns.count(text)) for intent, patterns in self._rules.items()]
        return sorted(((i, n) for i, n in hits if n > 0), key=lambda item: -item[1])

    def patterns_for(self, intent: str, text: str) -> list[str]:
        """The patterns of ``intent`` that match ``text`` (why a rule fired)."""
        patterns = self._rules.get(intent)
        return patterns.matching(text) if patterns is not None else []
