"""Normalizer and detect_lang: width, script, case, punctuation, invisible characters, length, language."""

from __future__ import annotations

import pytest

from edge_models.normalize import MAX_CHARS, Normalized, Normalizer, detect_lang


@pytest.fixture(scope="module")
def normalize() -> Normalizer:
    return Normalizer()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("ＨＥＬＬＯ", "hello", id="full-width-letters"),
        pytest.param("１２３４５", "12345", id="full-width-digits"),
        pytest.param("ｍｙ\u3000ｃａｒｄ", "my card", id="ideographic-space"),
        pytest.param("转账１０００元", "转账1000元", id="full-width-digits-in-zh"),
    ],
)
def test_full_width_becomes_half_width(normalize: Normalizer, raw: str, expected: str) -> None:
    assert normalize(raw).text == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("我的銀行卡丟了", "我的银行卡丢了", id="lost-card"),
        pytest.param("我想開戶", "我想开户", id="open-account"),
        pytest.param("匯款到香港", "汇款到香港", id="remittance"),
    ],
)
def test_traditional_becomes_simplified(normalize: Normalizer, raw: str, expected: str) -> None:
    result = normalize(raw)
    assert result.text == expected
    assert result.light == expected
    assert result.lang == "zh"


def test_converter_is_injectable() -> None:
    seen: list[str] = []

    def fake_t2s(text: str) -> str:
        seen.append(text)
        return text.replace("丟", "X")

    result = Normalizer(to_simplified=fake_t2s)("我的銀行卡丟了")
    # The fake converter ran instead of OpenCC (銀 is untouched), and case folding comes after it.
    assert result.text == "我的銀行卡x了"
    assert seen == ["我的銀行卡丟了"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("Lost My CARD", "lost my card", id="mixed-case"),
        pytest.param("ATM", "atm", id="upper"),
        pytest.param("Straße", "strasse", id="casefold-not-lower"),
    ],
)
def test_case_is_folded(normalize: Normalizer, raw: str, expected: str) -> None:
    assert normalize(raw).text == expected


@pytest.mark.parametrize(
    ("raw", "text", "light"),
    [
        pytest.param("Hello, world!", "hello world", "hello, world!", id="en"),
        pytest.param("我的卡丢了？！", "我的卡丢了", "我的卡丢了?!", id="zh-full-width"),
        pytest.param("Hello, world! 我的卡丢了？", "hello world 我的卡丢了", "hello, world! 我的卡丢了?", id="mixed"),
        pytest.param("(card) [lost] {now}", "card lost now", "(card) [lost] {now}", id="brackets"),
        pytest.param("rate 3.5% fee $20", "rate 3.5% fee $20", "rate 3.5% fee $20", id="kept-symbols"),
    ],
)
def test_punctuation_removed_from_text_but_kept_in_light(
    normalize: Normalizer, raw: str, text: str, light: str
) -> None:
    result = normalize(raw)
    assert result.text == text
    assert result.light == light


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("he\x00llo\x07", "hello", id="nul-and-bell"),
        pytest.param("he\u200bllo", "hello", id="zero-width-space"),
        pytest.param("\ufeffhello", "hello", id="byte-order-mark"),
        pytest.param("卡\u200d丢\u200c了", "卡丢了", id="zero-width-joiners"),
        pytest.param("a\tb\nc\r\nd", "a b c d", id="tabs-and-newlines-become-spaces"),
        pytest.param("  lost   card  ", "lost card", id="spaces-collapsed"),
    ],
)
def test_invisible_characters_are_dropped(normalize: Normalizer, raw: str, expected: str) -> None:
    result = normalize(raw)
    assert result.text == expected
    assert result.light == expected


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="spaces"),
        pytest.param("\t\n\r", id="whitespace-controls"),
        pytest.param("\u3000\u3000", id="ideographic-spaces"),
        pytest.param("\u200b\ufeff", id="zero-width-only"),
    ],
)
def test_empty_input(normalize: Normalizer, raw: str) -> None:
    assert normalize(raw) == Normalized(text="", lang=None, light="", truncated=False)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("12345", "12345", id="digits"),
        pytest.param("１２３", "123", id="full-width-digits"),
        pytest.param("3.14", "3.14", id="decimal"),
        pytest.param("100%", "100%", id="percent"),
    ],
)
def test_digits_only_have_no_language(normalize: Normalizer, raw: str, expected: str) -> None:
    result = normalize(raw)
    assert result.text == expected
    assert result.lang is None


@pytest.mark.parametrize(
    ("raw", "lang"),
    [
        pytest.param("How do I open an account?", "en", id="en"),
        pytest.param("我想开户", "zh", id="zh"),
        pytest.param("我的銀行卡丟了", "zh", id="zh-traditional"),
        pytest.param("我的card丢了", "zh", id="mixed-mostly-zh"),
        pytest.param("my 卡 is lost", "en", id="mixed-mostly-en"),
        pytest.param("ＡＴＭ在哪里", "zh", id="full-width-latin-in-zh"),
        pytest.param("ATM", "en", id="upper-case-en"),
    ],
)
def test_language_detection_through_normalizer(normalize: Normalizer, raw: str, lang: str) -> None:
    assert normalize(raw).lang == lang


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        pytest.param("how do i open an account", "en", id="en"),
        pytest.param("我想开户", "zh", id="zh"),
        pytest.param("我的card丢了", "zh", id="mixed-zh"),
        pytest.param("my 卡 is lost", "en", id="mixed-en"),
        pytest.param("卡 card", "zh", id="tie-goes-to-zh"),
        pytest.param("", None, id="empty"),
        pytest.param("123 456", None, id="digits"),
        pytest.param("% $ .", None, id="symbols"),
    ],
)
def test_detect_lang(text: str, lang: str | None) -> None:
    assert detect_lang(text) == lang


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("a" * 100_000, id="100k-latin"),
        pytest.param("我" * 100_000, id="100k-cjk"),
        pytest.param("lost card " * 10_000, id="100k-words"),
        pytest.param("x" * (MAX_CHARS * 2), id="between-limit-and-pre-cut"),
    ],
)
def test_long_input_is_truncated(normalize: Normalizer, raw: str) -> None:
    result = normalize(raw)
    assert result.truncated is True
    assert 0 < len(result.text) <= 500
    assert len(result.light) <= 500


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("x" * MAX_CHARS, id="exactly-at-limit"),
        pytest.param("hello", id="short"),
    ],
)
def test_short_input_is_not_truncated(normalize: Normalizer, raw: str) -> None:
    result = normalize(raw)
    assert result.truncated is False
    assert result.text == raw


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("\x00\xff\ufffd" * 1000, id="nul-ff-replacement"),
        pytest.param("\ud800\udfff卡" * 100, id="lone-surrogates"),
        pytest.param("".join(chr(i) for i in range(0, 0x3100, 3)), id="unicode-sweep"),
        pytest.param("\ufdfa" * 100, id="nfkc-expanding"),
        pytest.param("\ue000\U000f0000" * 50, id="private-use"),
    ],
)
def test_garbage_does_not_raise(normalize: Normalizer, raw: str) -> None:
    result = normalize(raw)
    assert len(result.text) <= 500
    assert len(result.light) <= 500
    assert "\x00" not in result.light
    assert result.lang in (None, "zh", "en")
