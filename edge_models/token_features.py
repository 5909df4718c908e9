"""Static token features for the third intent head (Han text): Gemma's vocabulary, greedy match.

The factory takes the input embeddings of Gemma 3 270M (``token_embd.weight``
of the GGUF, model2vec-style) for the vocabulary's Han and Latin word
pieces. A text becomes the IDF-weighted mean of its tokens' embeddings, and a
logistic regression reads that vector. Both steps are linear, so the factory
folds them into one table (token -> label logits): on the kiosk the head is a
sparse lookup like the n-gram model (``Gather``, weighted sum, bias) and
needs neither the GGUF nor its tokenizer, only this greedy longest-match
over the vocabulary stored in the bundle. Tokens the intent data never
showed still carry what Gemma learned about them. See docs/adr/0003.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

TOKENS_SCHEMA_VERSION = 1
# Gemma's SentencePiece marks a word start with this character.
WORD_START = "\u2581"
_MAX_TOKEN_CHARS = 16
_PIECE = re.compile(r"[a-z0-9']+|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


@dataclass(frozen=True)
class TokenVocabulary:
    """Token strings (index 0 is padding, tokens start at 1) and their IDF weights."""

    vocab: dict[str, int]
    idf: npt.NDArray[np.float32]

    @property
    def size(self) -> int:
        """Rows of the lookup table (vocabulary + padding)."""
        return len(self.vocab) + 1

    def tokenize(self, text: str) -> list[int]:
        """Greedy longest-match token indices of normalised ``text`` (unknown characters skipped)."""
        out: list[int] = []
        for piece in _PIECE.findall(text):
            prefix = "" if _HAN_RUN.fullmatch(piece) else WORD_START
            i = 0
            while i < len(piece):
                for j in range(min(len(piece), i + _MAX_TOKEN_CHARS), i, -1):
                    index = self.vocab.get(prefix + piece[i:j])
                    if index is not None:
                        out.append(index)
                        i = j
                        break
                else:
                    i += 1
                prefix = ""
        return out

    def row(self, text: str) -> tuple[list[int], list[float]]:
        """Token indices and their weights (IDF, summing to 1) for one text."""
        counts = Counter(self.tokenize(text))
        if not counts:
            return [], []
        idx = list(counts)
        weights = np.array([n * self.idf[i] for i, n in counts.items()], dtype=np.float64)
        weights /= weights.sum()
        return idx, weights.tolist()

    def transform(self, texts: list[str]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Padded ``indices`` and ``values`` arrays of shape (batch, width)."""
        rows = [self.row(t) for t in texts]
        width = max(1, max((len(r[0]) for r in rows), default=1))
        indices = np.zeros((len(rows), width), dtype=np.int64)
        values = np.zeros((len(rows), width), dtype=np.float32)
        for i, (idx, vals) in enumerate(rows):
            indices[i, : len(idx)] = idx
            values[i, : len(vals)] = vals
        return indices, values

    def to_json(self) -> str:
        """Serialised form stored in the NLU bundle."""
        tokens = sorted(self.vocab, key=self.vocab.__getitem__)
        return json.dumps(
            {
                "schema_version": TOKENS_SCHEMA_VERSION,
                "tokens": tokens,
                "idf": [round(float(x), 4) for x in self.idf[1:]],
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> TokenVocabulary:
        """Inverse of :meth:`to_json`.

        Raises:
            ValueError: the data is malformed or of a newer schema.
        """
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("schema_version") != TOKENS_SCHEMA_VERSION:
            raise ValueError("unsupported token vocabulary schema")
        tokens, idf = data["tokens"], data["idf"]
        if len(tokens) != len(idf):
            raise ValueError("tokens and idf differ in length")
        weights = np.zeros(len(tokens) + 1, dtype=np.float32)
        weights[1:] = np.asarray(idf, dtype=np.float32)
        return cls(vocab={t: i + 1 for i, t in enumerate(tokens)}, idf=weights)
