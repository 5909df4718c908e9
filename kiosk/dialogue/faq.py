"""Answers from the policy's FAQ passages (lexical retrieval)."""

from __future__ import annotations

from dataclasses import dataclass

from edge_models.normalize import Normalizer
from edge_models.retrieval import BM25Index
from kiosk.policy.schema import FaqEntry, Knowledge


@dataclass(frozen=True, slots=True)
class FaqHit:
    """A FAQ entry that matches an utterance."""

    entry: FaqEntry
    score: float


class FaqMatcher:
    """Finds the FAQ passage that answers a question, in either language.

    Each entry is indexed by its question in both languages, and by its
    answers (weaker: longer text).
    """

    def __init__(self, knowledge: Knowledge, normalizer: Normalizer) -> None:
        self._entries = {entry.id: entry for entry in knowledge.faq}
        passages = []
        for entry in knowledge.faq:
            for lang in ("zh", "en"):
                passages.append((entry.id, normalizer(entry.question.get(lang)).text))
                passages.append((entry.id, normalizer(f"{entry.question.get(lang)} {entry.answer.get(lang)}").text))
        self._index = BM25Index(passages)

    def best(self, text: str, intent: str | None = None) -> FaqHit | None:
        """The best entry for normalised ``text``, optionally only of ``intent``."""
        for hit in self._index.search(text, k=10):
            entry = self._entries[hit.key]
            if intent is None or entry.intent == intent:
                return FaqHit(entry, hit.score)
        return None
