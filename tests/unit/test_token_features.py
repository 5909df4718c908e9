"""The token head's vocabulary: greedy longest match, IDF weights, serialisation."""

from __future__ import annotations

import numpy as np
import pytest

from edge_models.token_features import WORD_START, TokenVocabulary

TOKENS = ["银行", "银", "行", "卡", "银行卡", "丢", WORD_START + "card", WORD_START + "lost", "ed", WORD_START + "lo"]


@pytest.fixture
def vocabulary() -> TokenVocabulary:
    idf = np.arange(len(TOKENS) + 1, dtype=np.float32)  # token i weighs i
    return TokenVocabulary(vocab={t: i + 1 for i, t in enumerate(TOKENS)}, idf=idf)


def ids(vocabulary: TokenVocabulary, *tokens: str) -> list[int]:
    return [vocabulary.vocab[t] for t in tokens]


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        pytest.param("银行卡丢了", ("银行卡", "丢"), id="longest-han-match-unknown-skipped"),
        pytest.param("行银", ("行", "银"), id="single-characters"),
        pytest.param("card lost", (WORD_START + "card", WORD_START + "lost"), id="words-start-with-marker"),
        pytest.param("losted", (WORD_START + "lost", "ed"), id="word-pieces"),
        pytest.param("lox", (WORD_START + "lo",), id="word-piece-then-unknown"),
        pytest.param("我的card丢了", (WORD_START + "card", "丢"), id="mixed"),
        pytest.param("", (), id="empty"),
    ],
)
def test_greedy_longest_match(vocabulary: TokenVocabulary, text: str, tokens: tuple[str, ...]) -> None:
    assert vocabulary.tokenize(text) == ids(vocabulary, *tokens)


def test_rows_are_idf_weights_that_sum_to_one(vocabulary: TokenVocabulary) -> None:
    idx, weights = vocabulary.row("银行卡 丢 丢")
    assert idx == ids(vocabulary, "银行卡", "丢")
    card, lose = vocabulary.idf[idx[0]], 2 * vocabulary.idf[idx[1]]
    assert weights == pytest.approx([card / (card + lose), lose / (card + lose)])
    assert vocabulary.row("zzz") == ([], [])
    indices, values = vocabulary.transform(["银行卡丢了", "zzz"])
    assert indices.shape == values.shape == (2, 2)
    assert values[1].sum() == 0.0
    assert values[0].sum() == pytest.approx(1.0)


def test_round_trip_and_schema_check(vocabulary: TokenVocabulary) -> None:
    again = TokenVocabulary.from_json(vocabulary.to_json())
    assert again.vocab == vocabulary.vocab
    assert np.allclose(again.idf, vocabulary.idf)
    with pytest.raises(ValueError, match="schema"):
        TokenVocabulary.from_json('{"schema_version": 99, "tokens": [], "idf": []}')
