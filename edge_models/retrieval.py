"""Lexical retrieval (BM25) over short passages, in Chinese and English.

Passages and queries are read as the intent model reads text
(:func:`edge_models.features.extract`): Han character 1-3-grams, English
words, word bigrams and in-word character n-grams, so a typo or a missing
word still overlaps. Scores are normalised by the query's score against
itself, which puts them in [0, 1] and makes one threshold work for short and
long questions alike.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from edge_models.features import extract

K1 = 1.2
B = 0.75


@dataclass(frozen=True, slots=True)
class Hit:
    """A retrieved passage and how well it matches, in [0, 1]."""

    key: str
    score: float


def _terms(text: str) -> Counter[str]:
    # In-word character n-grams of English are down-weighted by dropping the
    # 3-grams: they match too many unrelated words on their own.
    return Counter(f for f in extract(text) if not (f.startswith("s:") and len(f) == 5))


class BM25Index:
    """An in-memory BM25 index.

    Args:
        passages: (key, normalised text) pairs; several passages may share a key.
    """

    def __init__(self, passages: Sequence[tuple[str, str]]) -> None:
        self._keys = [key for key, _ in passages]
        self._docs = [_terms(text) for _, text in passages]
        self._lengths = [sum(doc.values()) for doc in self._docs]
        self._avg = (sum(self._lengths) / len(self._lengths)) if self._lengths else 1.0
        df: Counter[str] = Counter()
        for doc in self._docs:
            df.update(doc.keys())
        n = len(self._docs)
        self._idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}
        self._postings: dict[str, list[int]] = {}
        for i, doc in enumerate(self._docs):
            for term in doc:
                self._postings.setdefault(term, []).append(i)

    def __len__(self) -> int:
        return len(self._docs)

    def _term_score(self, term: str, tf: int, length: int) -> float:
        idf = self._idf.get(term, 0.0)
        return idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / self._avg))

    def search(self, text: str, k: int = 3) -> list[Hit]:
        """The ``k`` best passages for normalised ``text``, best first (one per key)."""
        query = _terms(text)
        if not query or not self._docs:
            return []
        q_len = sum(query.values())
        ceiling = sum(self._term_score(t, n, q_len) for t, n in query.items() if t in self._idf)
        if ceiling <= 0:
            return []
        scores: dict[int, float] = {}
        for term in query:
            for i in self._postings.get(term, ()):
                scores[i] = scores.get(i, 0.0) + self._term_score(term, self._docs[i][term], self._lengths[i])
        best: dict[str, float] = {}
        for i, score in scores.items():
            key = self._keys[i]
            best[key] = max(best.get(key, 0.0), min(1.0, score / ceiling))
        ranked = sorted(best.items(), key=lambda item: -item[1])[:k]
        return [Hit(key, round(score, 4)) for key, score in ranked]


def tfidf_cosine(a: str, b: str, idf: dict[str, float]) -> float:
    """Cosine of TF-IDF vectors of two normalised texts (for pair matching)."""
    va, vb = _terms(a), _terms(b)

    def weights(c: Counter[str]) -> dict[str, float]:
        return {t: (1 + math.log(n)) * idf.get(t, 1.0) for t, n in c.items()}

    wa, wb = weights(va), weights(vb)
    dot = sum(w * wb.get(t, 0.0) for t, w in wa.items())
    na = math.sqrt(sum(w * w for w in wa.values()))
    nb = math.sqrt(sum(w * w for w in wb.values()))
    return dot / (na * nb) if na and nb else 0.0
