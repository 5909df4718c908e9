"""Grammar-mode phrase lists, built from plain strings and from the policy."""

from __future__ import annotations

import pytest

from edge_models.asr import DIGITS, clean_phrase, compile_phrases
from kiosk.policy import Policy
from kiosk.voice.files import file_lang
from kiosk.voice.turn import policy_phrases


@pytest.mark.parametrize(
    ("text", "lang", "cleaned"),
    [
        ("What's the USD rate?", "en", "what's the usd rate"),
        ("我要取号！", "zh", "我 要 取 号"),
        ("ＡＴＭ在哪里？", "zh", "a t m 在 哪 里"),
        ("  번호표   주세요. ", "ko", "번호표 주세요"),
    ],
    ids=["english", "chinese-characters", "full-width", "korean-spaces"],
)
def test_clean_phrase(text: str, lang: str, cleaned: str) -> None:
    assert clean_phrase(text, lang) == cleaned


def test_compile_dedupes_adds_digits_and_filters_by_vocabulary() -> None:
    phrases = compile_phrases(["Open an account", "open an account!", "", "Lost card"], "en")
    assert phrases[:2] == ("open an account", "lost card")
    assert set(DIGITS["en"]) <= set(phrases)
    known = frozenset({"lost", "card", "one"})
    assert compile_phrases(["Lost card", "Open an account", "one"], "en", vocabulary=known, digits=False) == (
        "lost card",
        "one",
    )


def test_compile_is_bounded() -> None:
    phrases = compile_phrases((f"phrase {i}" for i in range(10_000)), "en", digits=False)
    assert len(phrases) == 2000
    assert compile_phrases(["x" * 500], "en", digits=False) == ()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_policy_phrases_cover_faq_services_and_currencies(policy: Policy, lang: str) -> None:
    phrases = policy_phrases(policy, lang)
    assert policy.knowledge.faq[0].question.get(lang) in phrases
    assert policy.flows.queue_services[0].label.get(lang) in phrases
    assert policy.rates.exchange.currencies[0].name.get(lang) in phrases
    assert len(compile_phrases(phrases, lang)) > 50


def test_policy_has_no_phrases_for_other_languages(policy: Policy) -> None:
    assert policy_phrases(policy, "ko") == []


@pytest.mark.parametrize(
    ("name", "lang"),
    [("q1.zh.wav", "zh"), ("hello-en.wav", "en"), ("a_zh.WAV", "zh"), ("plain.wav", None), ("zhen.wav", None)],
    ids=["dot", "dash", "underscore", "none", "no-separator"],
)
def test_file_lang(name: str, lang: str | None) -> None:
    from pathlib import Path

    assert file_lang(Path(name)) == lang
