"""Compiled pattern sets from the policy (both languages, searched together)."""

from __future__ import annotations

import re

from kiosk.policy import Patterns


class PatternSet:
    """The zh and en patterns of one policy entry, compiled once.

    Both languages are searched: customers mix them in one sentence.
    """

    def __init__(self, patterns: Patterns) -> None:
        self._compiled = tuple(re.compile(p) for p in (*patterns.zh, *patterns.en))

    def __bool__(self) -> bool:
        return bool(self._compiled)

    def count(self, text: str) -> int:
        """How many of the patterns match ``text``."""
        return sum(1 for pattern in self._compiled if pattern.search(text))

    def matching(self, *texts: str) -> list[str]:
        """The patterns (as written in the policy) that match any of ``texts``."""
        return [p.pattern for p in self._compiled if any(p.search(text) for text in texts)]

    def search(self, *texts: str) -> bool:
        """True if any pattern matches any of ``texts``."""
        return any(pattern.search(text) for pattern in self._compiled for text in texts)

    def match_length(self, text: str) -> int:
        """Characters covered by the first match of each pattern (0: no match)."""
        total = 0
        for pattern in self._compiled:
            found = pattern.search(text)
            if found:
                total += max(1, found.end() - found.start())
        return total


def best_match(text: str, options: dict[str, PatternSet]) -> str | None:
    """The option whose patterns cover most of ``text``; ties go to the first listed."""
    best, best_len = None, 0
    for key, patterns in options.items():
        length = patterns.match_length(text)
        if length > best_len:
            best, best_len = key, length
    return best
