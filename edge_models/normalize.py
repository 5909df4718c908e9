"""Text normalisation and language detection, before anything else looks at text.

Full-width forms become half-width (NFKC), traditional Chinese becomes
simplified (OpenCC), case is folded, control characters and stray
punctuation are dropped, and the length is bounded.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

MAX_CHARS = 500

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[a-z]+")
_SPACES = re.compile(r"\s+")
_KEEP_PUNCT = set("'%$+-.")


@dataclass(frozen=True, slots=True)
class Normalized:
    """A normalised utterance.

    Attributes:
        text: Normalised text (simplified, half-width, lower case, no punctuation).
        light: The same with punctuation kept, for patterns that need it.
        lang: ``zh`` or ``en`` as detected, or None when the text has no words.
        truncated: The input was longer than the limit and was cut.
    """

    text: str
    lang: str | None
    light: str = ""
    truncated: bool = False


@lru_cache(maxsize=1)
def _opencc_t2s() -> Callable[[str], str]:
    import opencc

    converter = opencc.OpenCC("t2s")
    return converter.convert


def _visible_char(ch: str) -> str:
    category = unicodedata.category(ch)
    if category in ("Cc", "Cf", "Co", "Cs", "Cn"):
        return " " if ch in "\t\n\r" else ""
    if category.startswith("Z"):
        return " "
    return ch


def _word_char(ch: str) -> str:
    category = unicodedata.category(ch)
    if category.startswith("P") or category.startswith("S"):
        return ch if ch in _KEEP_PUNCT else " "
    return ch


def detect_lang(text: str) -> str | None:
    """Main language of normalised text: ``zh``, ``en`` or None (no words).

    Mixed text counts Chinese characters against Latin words, so
    "我的card丢了" is ``zh`` and "my 卡 is lost" is ``en``.
    """
    cjk = len(_CJK.findall(text))
    latin = len(_LATIN_WORD.findall(text))
    if cjk == 0 and latin == 0:
        return None
    return "zh" if cjk >= latin else "en"


class Normalizer:
    """Turns raw customer text into :class:`Normalized` text.

    Args:
        to_simplified: Traditional-to-simplified converter; OpenCC ``t2s``
            by default.
        max_chars: Longer input is cut to this many characters.
    """

    def __init__(self, to_simplified: Callable[[str], str] | None = None, max_chars: int = MAX_CHARS) -> None:
        self._t2s = to_simplified
        self._max_chars = max_chars

    def __call__(self, raw: str) -> Normalized:
        """Normalise ``raw``; never raises on odd input."""
        truncated = len(raw) > self._max_chars * 4
        text = raw[: self._max_chars * 4]
        text = unicodedata.normalize("NFKC", text)
        light = "".join(_visible_char(ch) for ch in text)
        if _CJK.search(light):
            t2s = self._t2s or _opencc_t2s()
            light = t2s(light)
        light = _SPACES.sub(" ", light.casefold()).strip()
        if len(light) > self._max_chars:
            light = light[: self._max_chars]
            truncated = True
        text = _SPACES.sub(" ", "".join(_word_char(ch) for ch in light)).strip(" .-+'")
        return Normalized(text=text, lang=detect_lang(text), light=light, truncated=truncated)
