"""Hybrid FAQ retrieval with a fake embedder: score mapping, mixing, fallback to lexical."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import numpy.typing as npt
import pytest

from edge_models.normalize import Normalizer
from kiosk.dialogue.engine import DialogueEngine
from kiosk.dialogue.faq import COS_CEIL, COS_FLOOR, LEXICAL_WEIGHT, FaqMatcher, hybrid_score, is_english, semantic_score
from kiosk.policy import Policy
from kiosk.policy.schema import Rules
from tests.fakes import FakeClassifier

N = Normalizer()


class FakeEmbedder:
    """Embeds by meaning classes: texts mentioning a word of a class share its unit vector."""

    CLASSES = (
        ("passport", "expat"),
        ("atm", "cash machine", "withdraw"),
        ("hotline", "phone", "call"),
    )

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.fail = False

    def __call__(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.calls.append(list(texts))
        if self.fail:
            raise RuntimeError("embedder crashed")
        out = np.zeros((len(texts), len(self.CLASSES) + 1), dtype=np.float32)
        for i, text in enumerate(texts):
            hits = [k for k, words in enumerate(self.CLASSES) if any(w in text for w in words)]
            for k in hits:
                out[i, k] = 1.0
            if not hits:
                out[i, -1] = 1.0
            out[i] /= np.linalg.norm(out[i])
        return out


@pytest.mark.parametrize(
    ("cosine", "score"),
    [(-1.0, 0.0), (COS_FLOOR, 0.0), ((COS_FLOOR + COS_CEIL) / 2, 0.5), (COS_CEIL, 1.0), (1.0, 1.0)],
    ids=["opposite", "floor", "middle", "ceil", "identical"],
)
def test_semantic_score_maps_cosine_linearly_and_clips(cosine: float, score: float) -> None:
    assert semantic_score(cosine) == pytest.approx(score)


def test_hybrid_score_mixes_and_falls_back_to_lexical() -> None:
    assert hybrid_score(0.8, None) == 0.8
    assert hybrid_score(1.0, 0.0, 0.5) == pytest.approx(0.5)
    assert hybrid_score(0.4, 1.0, 0.5) == pytest.approx(0.7)
    assert hybrid_score(0.4, 1.0, 0.0) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("text", "english"),
    [("can i open an account", True), ("我要开户", False), ("atm 取钱", False), ("123 456", False), ("", False)],
)
def test_only_latin_text_counts_as_english(text: str, english: bool) -> None:
    assert is_english(text) is english


def test_meaning_lifts_a_paraphrase_with_few_shared_words(policy: Policy) -> None:
    text = N("I am an expat, what ID do I show to get banking here?").text
    lexical = FaqMatcher(policy.knowledge, N).best(text)
    fake = FakeEmbedder()
    hybrid = FaqMatcher(policy.knowledge, N, fake).best(text)
    assert hybrid is not None
    assert hybrid.entry.id == "account_open_foreigner_passport"
    assert hybrid.semantic == pytest.approx(1.0)
    assert lexical is None or hybrid.score > lexical.score or lexical.entry.id != hybrid.entry.id
    # FAQ questions are embedded once, then one call per query.
    assert len(fake.calls[0]) == len(policy.knowledge.faq)
    assert fake.calls[1:] == [[text]]


def test_chinese_queries_stay_lexical(policy: Policy) -> None:
    fake = FakeEmbedder()
    matcher = FaqMatcher(policy.knowledge, N, fake)
    calls = len(fake.calls)
    hit = matcher.best(N("外国人可以用护照开户吗").text)
    assert hit is not None
    assert hit.semantic is None
    assert hit.score == hit.lexical
    assert len(fake.calls) == calls


def test_a_word_overlap_without_the_meaning_is_pulled_down(policy: Policy) -> None:
    entry = next(e for e in policy.knowledge.faq if e.id == "fees_atm_withdrawal")
    text = N(entry.question.en).text
    lexical = FaqMatcher(policy.knowledge, N).best(text)
    assert lexical is not None
    assert lexical.score == pytest.approx(1.0)

    def unrelated(texts: Sequence[str]) -> npt.NDArray[np.float32]:
        # Queries point one way, FAQ questions another: cosine 0 everywhere.
        out = np.zeros((len(texts), 2), dtype=np.float32)
        out[:, 0 if len(texts) == 1 else 1] = 1.0
        return out

    hybrid = FaqMatcher(policy.knowledge, N, unrelated).best(text)
    assert hybrid is not None
    assert hybrid.semantic == 0.0
    assert hybrid.score == pytest.approx(LEXICAL_WEIGHT * lexical.score)


def test_the_same_query_is_embedded_once(policy: Policy) -> None:
    fake = FakeEmbedder()
    matcher = FaqMatcher(policy.knowledge, N, fake)
    text = N("is there a fee at the atm").text
    matcher.best(text)
    matcher.best(text, "fees")
    assert fake.calls[1:] == [[text]]


def test_a_failing_embedder_leaves_lexical_retrieval(policy: Policy) -> None:
    fake = FakeEmbedder()
    matcher = FaqMatcher(policy.knowledge, N, fake)
    lexical = FaqMatcher(policy.knowledge, N)
    fake.fail = True
    text = N("Is there a fee for transfers to other banks?").text
    hit, expected = matcher.best(text), lexical.best(text)
    assert hit is not None
    assert expected is not None
    assert (hit.entry.id, hit.score, hit.semantic) == (expected.entry.id, expected.score, None)


def test_a_broken_embedder_at_start_means_lexical_only(policy: Policy) -> None:
    fake = FakeEmbedder()
    fake.fail = True
    assert not FaqMatcher(policy.knowledge, N, fake).semantic
    assert FaqMatcher(policy.knowledge, N, FakeEmbedder()).semantic
    assert not FaqMatcher(policy.knowledge, N).semantic


def test_the_engine_passes_the_embedder_to_faq_retrieval(policy: Policy) -> None:
    fake = FakeEmbedder()
    no_rules = replace(policy, rules=Rules(schema_version=1, intents={}))
    engine = DialogueEngine(no_rules, FakeClassifier(), embed=fake)
    entry = next(e for e in policy.knowledge.faq if e.id == "account_open_foreigner_passport")
    _, u = engine.understand(entry.question.en)
    assert (u.stage, u.intent) == ("rules", "account_open")
    assert u.faq is not None
    assert u.faq.entry.id == entry.id
    assert u.faq.semantic == pytest.approx(1.0)
    assert any(call == [N(entry.question.en).text] for call in fake.calls)
