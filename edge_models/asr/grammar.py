"""Grammar mode ("speech to phrase"): the phrase list a recogniser may choose from.

Built from plain lists of strings so this package never imports the kiosk:
the kiosk passes its policy's FAQ questions, service names and currencies.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

MAX_PHRASES = 2000
MAX_PHRASE_CHARS = 80

DIGITS: dict[str, tuple[str, ...]] = {
    "en": ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"),
    "zh": ("零", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "两"),
    "ko": ("영", "일", "이", "삼", "사", "오", "육", "칠", "팔", "구", "십"),
}

_DROP = re.compile(r"[^\w\s']+")


def clean_phrase(text: str, lang: str) -> str:
    """A phrase as a recogniser's word list spells it: no punctuation, lower case, single spaces.

    Chinese phrases are split into characters (recognisers of Chinese spell words
    as character sequences); other languages keep their words.
    """
    text = unicodedata.normalize("NFKC", text).lower()
    text = _DROP.sub(" ", text)
    if lang in ("zh", "yue"):
        text = "".join(text.split())
        return " ".join(text)
    return " ".join(text.split())


def compile_phrases(
    phrases: Iterable[str],
    lang: str,
    *,
    vocabulary: frozenset[str] | None = None,
    digits: bool = True,
) -> tuple[str, ...]:
    """The grammar for one language: cleaned, deduplicated, bounded phrases plus digits.

    Args:
        phrases: Candidate phrases (FAQ questions, service names, currencies, ...).
        lang: Language code; selects the digit words and the word splitting.
        vocabulary: Words the model knows; phrases with other words are dropped.
        digits: Add the digit words of ``lang``.

    Returns:
        The phrases in first-seen order, at most ``MAX_PHRASES``.
    """
    seen: dict[str, None] = {}
    candidates = list(phrases) + (list(DIGITS.get(lang, ())) if digits else [])
    for raw in candidates:
        phrase = clean_phrase(raw[: MAX_PHRASE_CHARS * 2], lang)
        if not phrase or len(phrase) > MAX_PHRASE_CHARS:
            continue
        if vocabulary is not None and any(word not in vocabulary for word in phrase.split()):
            continue
        seen.setdefault(phrase, None)
        if len(seen) >= MAX_PHRASES:
            break
    return tuple(seen)
