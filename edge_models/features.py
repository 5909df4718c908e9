"""Sparse n-gram features of normalised text, shared by the build and the kiosk.

Chinese is read as character n-grams (1-3) over runs of Han characters, and
as toneless pinyin syllables (unigrams and bigrams): a speech recogniser's
homophone slip (挂诗 for 挂失) and a customer typing pinyin ("wo de ka diu
le", "huilv") then share features with the characters they stand for.
English is read as words, word bigrams and character n-grams (3-5) inside
each word, which survive typos and inflections. Mixed text gets both. Each
feature weighs ``(1 + log tf) * idf``, and a row is L2-normalised: TF-IDF.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import numpy.typing as npt

FEATURES_SCHEMA_VERSION = 1
PAD_INDEX = 0

_TOKEN = re.compile(r"[a-z0-9']+|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_SYLLABLE = re.compile(
    r"(?:zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?"
    r"(?:iang|iong|uang|ang|eng|ing|ong|ian|iao|uai|uan|ai|an|ao|ei|en|er|ia|ie|in|iu|ou|ua|ue|ui|un|uo|ve|a|e|i|o|u|v)"
)
_MAX_PINYIN_WORD = 24


def has_han(text: str) -> bool:
    """True when ``text`` has at least one Han character (the script that picks thresholds and heads)."""
    return _HAN.search(text) is not None


def pinyin_syllables(word: str) -> list[str] | None:
    """Split a Latin word into toneless pinyin syllables, or None if it is not pinyin."""
    if len(word) > _MAX_PINYIN_WORD or not word.isalpha():
        return None
    out: list[str] = []

    def split(i: int) -> bool:
        if i == len(word):
            return True
        for j in range(min(len(word), i + 6), i, -1):
            if _SYLLABLE.fullmatch(word, i, j) and split(j):
                out.insert(0, word[i:j])
                return True
        return False

    return out if split(0) else None


def _han_pinyin(run: list[str]) -> list[str]:
    from pypinyin import lazy_pinyin

    return [s for s in lazy_pinyin("".join(run), errors="ignore") if s.isascii() and s.isalpha()]


def _pinyin_feats(syllables: list[str]) -> list[str]:
    feats = ["p:" + s for s in syllables]
    feats.extend(f"p:{a}_{b}" for a, b in pairwise(syllables))
    return feats


def extract(text: str) -> list[str]:
    """The n-gram features of one normalised text (with repeats)."""
    feats: list[str] = []
    tokens = _TOKEN.findall(text)
    han_run: list[str] = []
    latin_pinyin: list[str] = []
    prev_word: str | None = None

    def flush_han() -> None:
        run = han_run
        for n in (1, 2, 3):
            feats.extend("c:" + "".join(run[i : i + n]) for i in range(len(run) - n + 1))
        if run:
            feats.extend(_pinyin_feats(_han_pinyin(run)))
        han_run.clear()

    def flush_pinyin() -> None:
        if len(latin_pinyin) >= 2:  # one short word is English more often than pinyin
            feats.extend(_pinyin_feats(latin_pinyin))
        latin_pinyin.clear()

    for token in tokens:
        if _HAN.fullmatch(token):
            flush_pinyin()
            han_run.append(token)
            prev_word = None
            continue
        flush_han()
        word = token.strip("'")
        if not word:
            continue
        syllables = pinyin_syllables(word)
        if syllables is None:
            flush_pinyin()
        else:
            latin_pinyin.extend(syllables)
        feats.append("w:" + word)
        if prev_word is not None:
            feats.append(f"b:{prev_word}_{word}")
        prev_word = word
        if not word.isdigit():
            padded = f"<{word}>"
            for n in (3, 4, 5):
                feats.extend("s:" + padded[i : i + n] for i in range(len(padded) - n + 1))
    flush_han()
    flush_pinyin()
    return feats


@dataclass(frozen=True)
class Featurizer:
    """A fitted vocabulary and IDF weights.

    Index 0 is padding; vocabulary indices start at 1.
    """

    vocab: dict[str, int]
    idf: npt.NDArray[np.float32]
    max_features: int = 256

    @property
    def size(self) -> int:
        """Rows of the weight matrix (vocabulary + padding)."""
        return len(self.vocab) + 1

    @classmethod
    def fit(cls, texts: Iterable[str], *, min_df: int = 2, max_features: int = 256) -> Featurizer:
        """Build the vocabulary (features in at least ``min_df`` texts) and IDF."""
        docs = [set(extract(t)) for t in texts]
        df: Counter[str] = Counter()
        for doc in docs:
            df.update(doc)
        kept = sorted(f for f, n in df.items() if n >= min_df)
        vocab = {f: i + 1 for i, f in enumerate(kept)}
        n_docs = len(docs)
        idf = np.zeros(len(vocab) + 1, dtype=np.float32)
        for f, i in vocab.items():
            idf[i] = math.log((1 + n_docs) / (1 + df[f])) + 1.0
        return cls(vocab=vocab, idf=idf, max_features=max_features)

    def row(self, text: str) -> tuple[list[int], list[float]]:
        """Indices and TF-IDF values of one text (unknown features dropped)."""
        counts = Counter(f for f in extract(text) if f in self.vocab)
        if not counts:
            return [], []
        items = counts.most_common(self.max_features)
        idx = [self.vocab[f] for f, _ in items]
        vals = np.array([(1.0 + math.log(n)) * self.idf[self.vocab[f]] for f, n in items], dtype=np.float64)
        vals /= np.linalg.norm(vals) or 1.0
        return idx, vals.tolist()

    def transform(self, texts: Sequence[str]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Padded ``indices`` and ``values`` arrays of shape (batch, width)."""
        rows = [self.row(t) for t in texts]
        width = max(1, max((len(r[0]) for r in rows), default=1))
        indices = np.full((len(rows), width), PAD_INDEX, dtype=np.int64)
        values = np.zeros((len(rows), width), dtype=np.float32)
        for i, (idx, vals) in enumerate(rows):
            indices[i, : len(idx)] = idx
            values[i, : len(vals)] = vals
        return indices, values

    def to_json(self) -> str:
        """Serialised form stored in the NLU bundle."""
        features = sorted(self.vocab, key=self.vocab.__getitem__)
        return json.dumps(
            {
                "schema_version": FEATURES_SCHEMA_VERSION,
                "max_features": self.max_features,
                "features": features,
                "idf": [round(float(x), 6) for x in self.idf[1:]],
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> Featurizer:
        """Inverse of :meth:`to_json`.

        Raises:
            ValueError: the data is malformed or of a newer schema.
        """
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("schema_version") != FEATURES_SCHEMA_VERSION:
            raise ValueError(
                f"unsupported features schema {data.get('schema_version') if isinstance(data, dict) else '?'}"
            )
        features, idf = data["features"], data["idf"]
        if len(features) != len(idf):
            raise ValueError("features and idf differ in length")
        vocab = {f: i + 1 for i, f in enumerate(features)}
        weights = np.zeros(len(vocab) + 1, dtype=np.float32)
        weights[1:] = np.asarray(idf, dtype=np.float32)
        return cls(vocab=vocab, idf=weights, max_features=int(data["max_features"]))
