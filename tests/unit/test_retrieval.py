"""Lexical retrieval: ranking, normalised scores, both languages."""

from __future__ import annotations

import pytest

from edge_models.normalize import Normalizer
from edge_models.retrieval import BM25Index, tfidf_cosine

N = Normalizer()
PASSAGES = [
    ("passport", N("外国人可以用护照开户吗").text),
    ("passport", N("Can a foreigner open an account with a passport?").text),
    ("atm_fee", N("在取款机取钱收手续费吗").text),
    ("atm_fee", N("Is there a fee to withdraw cash from an ATM?").text),
    ("hours", N("你们几点开门几点关门").text),
]


@pytest.fixture(scope="module")
def index() -> BM25Index:
    return BM25Index(PASSAGES)


@pytest.mark.parametrize(
    ("query", "key"),
    [
        ("外国人能不能拿护照开户", "passport"),
        ("can foreigners open an acount with passport", "passport"),
        ("取款机取钱要手续费吗", "atm_fee"),
        ("atm withdrawal fee?", "atm_fee"),
        ("幾點關門", "hours"),
    ],
)
def test_best_passage(index: BM25Index, query: str, key: str) -> None:
    hits = index.search(N(query).text)
    assert hits[0].key == key
    assert 0.0 < hits[0].score <= 1.0


def test_exact_question_scores_one_and_results_are_unique_per_key(index: BM25Index) -> None:
    hits = index.search(PASSAGES[0][1], k=5)
    assert hits[0].score == pytest.approx(1.0)
    assert len({h.key for h in hits}) == len(hits)


@pytest.mark.parametrize("query", ["", "zzzz qqqq", "🙂"])
def test_unrelated_or_empty_queries_find_nothing(index: BM25Index, query: str) -> None:
    assert index.search(N(query).text) == []


def test_empty_index() -> None:
    assert BM25Index([]).search("hello") == []


def test_pair_cosine() -> None:
    idf: dict[str, float] = {}
    same = tfidf_cosine(N("我的银行卡丢了").text, N("银行卡丢了怎么办").text, idf)
    other = tfidf_cosine(N("我的银行卡丢了").text, N("今天美元汇率多少").text, idf)
    assert same > other
    assert tfidf_cosine("", "abc", idf) == 0.0
