"""Answers from the policy's FAQ passages: lexical retrieval, plus sentence embeddings for English.

Every query is scored lexically (BM25 over Han n-grams and English words,
normalised to [0, 1]). An English query is also compared with each FAQ
question's English side by the cosine of their sentence embeddings (the int8
MiniLM on the kiosk), mapped onto the same [0, 1] scale; an entry's hybrid
score is the mean of the two, so a passage answers only when it shares both
the customer's words and their meaning. The embedder is passed in as a plain
function, so this module stays free of I/O; without one (or when it fails)
retrieval is lexical only.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

from edge_models.normalize import Normalizer
from edge_models.retrieval import BM25Index
from kiosk.policy import FaqEntry, Knowledge

_LOG = logging.getLogger(__name__)

EmbedFn: TypeAlias = Callable[[Sequence[str]], npt.NDArray[np.float32]]
"""Unit-length sentence vectors of normalised texts, shape (len(texts), dimension)."""

# Cosine -> score: COS_FLOOR and below scores 0, COS_CEIL and above scores 1, linear between;
# English hybrid = LEXICAL_WEIGHT * lexical + (1 - LEXICAL_WEIGHT) * semantic. Chosen on the dev
# split with scripts/calibrate_faq.py (policy thresholds unchanged): of the ~400 English dev
# questions that reach the FAQ stage, lexical alone answers 1 right and 3 wrong at faq_answer,
# the hybrid none wrong (and none right: a weak signal, ties broken by keeping the share of
# model-decided questions that get a detail passage at the lexical one, 15%).
COS_FLOOR = 0.3
COS_CEIL = 0.85
LEXICAL_WEIGHT = 0.3
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[a-z]")


@dataclass(frozen=True, slots=True)
class FaqHit:
    """A FAQ entry that matches an utterance.

    Attributes:
        entry: The FAQ entry.
        score: The hybrid score in [0, 1].
        lexical: The BM25 part of it.
        semantic: The mapped embedding cosine (None when not computed).
    """

    entry: FaqEntry
    score: float
    lexical: float = 0.0
    semantic: float | None = None


def semantic_score(cosine: float, floor: float = COS_FLOOR, ceil: float = COS_CEIL) -> float:
    """Map an embedding cosine onto the lexical score's [0, 1] scale."""
    return float(min(1.0, max(0.0, (cosine - floor) / (ceil - floor))))


def hybrid_score(lexical: float, semantic: float | None, lexical_weight: float = LEXICAL_WEIGHT) -> float:
    """The score an entry is ranked and thresholded by (lexical alone when there is no semantic view)."""
    if semantic is None:
        return lexical
    return lexical_weight * lexical + (1.0 - lexical_weight) * semantic


def is_english(text: str) -> bool:
    """True for normalised text with Latin letters and no Han characters."""
    return _LATIN.search(text) is not None and _HAN.search(text) is None


class FaqMatcher:
    """Finds the FAQ passage that answers a question, in either language.

    Each entry is indexed by its question in both languages, and by its
    answers (weaker: longer text). With ``embed``, English queries are also
    matched to the entries' English questions by meaning.

    Args:
        knowledge: The policy's knowledge base.
        normalizer: The engine's text normaliser.
        embed: Sentence embeddings of normalised English text, or None for lexical retrieval only.
        cos_floor: Cosine that maps to score 0.
        cos_ceil: Cosine that maps to score 1.
        lexical_weight: Weight of the lexical score in the English hybrid.
    """

    def __init__(
        self,
        knowledge: Knowledge,
        normalizer: Normalizer,
        embed: EmbedFn | None = None,
        *,
        cos_floor: float = COS_FLOOR,
        cos_ceil: float = COS_CEIL,
        lexical_weight: float = LEXICAL_WEIGHT,
    ) -> None:
        self._entries = {entry.id: entry for entry in knowledge.faq}
        self._order = [entry.id for entry in knowledge.faq]
        passages = []
        for entry in knowledge.faq:
            for lang in ("zh", "en"):
                passages.append((entry.id, normalizer(entry.question.get(lang)).text))
                passages.append((entry.id, normalizer(f"{entry.question.get(lang)} {entry.answer.get(lang)}").text))
        self._index = BM25Index(passages)
        self._cos_floor, self._cos_ceil, self._lexical_weight = cos_floor, cos_ceil, lexical_weight
        self._embed = embed
        self._questions: npt.NDArray[np.float32] | None = None
        self._last: tuple[str, npt.NDArray[np.float32]] | None = None
        if embed is not None and self._order:
            questions = [normalizer(self._entries[i].question.en).text for i in self._order]
            self._questions = self._run_embed(questions)

    @property
    def semantic(self) -> bool:
        """True when English queries are matched by meaning too."""
        return self._questions is not None

    def _run_embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32] | None:
        if self._embed is None:
            return None
        try:
            vectors = np.asarray(self._embed(texts), dtype=np.float32)
        except Exception:  # noqa: BLE001 - a failing embedder leaves lexical retrieval, the turn goes on
            _LOG.exception("embedder failed; FAQ retrieval is lexical for this query")
            return None
        if vectors.ndim != 2 or vectors.shape[0] != len(texts):
            _LOG.error("embedder returned shape %s for %d texts; ignored", vectors.shape, len(texts))
            return None
        return vectors

    def _cosines(self, text: str) -> npt.NDArray[np.float32] | None:
        """Cosine of ``text`` to every FAQ question (English side), or None."""
        if self._questions is None or not is_english(text):
            return None
        last = self._last
        if last is not None and last[0] == text:
            query = last[1]
        else:
            vectors = self._run_embed([text])
            if vectors is None or vectors.shape[1] != self._questions.shape[1]:
                return None
            query = vectors[0]
            self._last = (text, query)
        return self._questions @ query

    def scores(self, text: str) -> list[FaqHit]:
        """Every entry that matches normalised ``text`` at all, best first."""
        lexical = {hit.key: hit.score for hit in self._index.search(text, k=len(self._entries))}
        cosines = self._cosines(text)
        hits = []
        for i, entry_id in enumerate(self._order):
            semantic = None if cosines is None else semantic_score(float(cosines[i]), self._cos_floor, self._cos_ceil)
            lex = lexical.get(entry_id, 0.0)
            score = hybrid_score(lex, semantic, self._lexical_weight)
            if score > 0.0:
                hits.append(FaqHit(self._entries[entry_id], round(score, 4), lex, semantic))
        hits.sort(key=lambda hit: -hit.score)
        return hits

    def best(self, text: str, intent: str | None = None) -> FaqHit | None:
        """The best entry for normalised ``text``, optionally only of ``intent``."""
        for hit in self.scores(text):
            if intent is None or hit.entry.intent == intent:
                return hit
        return None
