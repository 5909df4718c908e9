"""Closed vocabulary on an open recogniser: match what whisper heard against the choices on offer.

When the screen offers choices (the buttons of a clarifying question, the
values of a slot a flow asks for), the customer almost always says one of
them. whisper-base hears Mandarin by sound and often writes the wrong
characters for the right syllables (挂诗 for 挂失, 新容卡 for 信用卡), so the
heard text is compared with each choice's phrases *by sound*:

- Mandarin: toneless pinyin syllables (pypinyin), each split into initial and
  final; near sounds (s/sh, n/l, in/ing ...) cost less than unrelated ones.
- English: words compared by character edit distance after a light phonetic
  spelling (ph -> f, soft c -> s, doubled letters once ...).

A choice's phrase is aligned with the best-matching stretch of the heard
words (the customer may add "I want", "我要"), giving a similarity in [0, 1];
the confidence scales it by how much of the utterance (filler words left
out) the phrase covers, so a long open question that merely contains a
similar word does not become a button press. Below ``threshold``, or when
two different choices come within ``margin`` of each other, there is no
match and the caller keeps the open text.

Pure Python (pypinyin only); nothing here imports the kiosk.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from edge_models.asr.evaluation import edit_distance

THRESHOLD = 0.72
MARGIN = 0.08
MAX_HEARD_TOKENS = 60
_EXTRA = 0.4  # cost of a heard word inside the matched stretch that the phrase lacks ("report *a* lost card")

_CONFUSABLE_INITIALS = {
    frozenset(pair)
    for pair in (
        ("z", "zh"),
        ("c", "ch"),
        ("s", "sh"),
        ("n", "l"),
        ("f", "h"),
        ("r", "l"),
        ("b", "p"),
        ("d", "t"),
        ("g", "k"),
        ("j", "q"),
        ("q", "x"),
        ("j", "x"),
        ("j", "zh"),
        ("q", "ch"),
        ("x", "sh"),
        ("", "w"),
        ("", "y"),
        ("g", ""),
    )
}
_ZH_FILLERS = frozenset("我要想请帮的了吧啊呢嗯呃哦那个就是一下你好")
_EN_FILLERS = frozenset(
    re.findall(r"\S+", "i i'd id want would like to the a an please um uh er my me for just can could get need ok okay")
)
_ZH_DIGITS = dict(zip("0123456789", "零一二三四五六七八九", strict=True))
_HAN_DIGITS = re.compile(r"(?<=[\u3400-\u9fff])[0-9]+|[0-9]+(?=[\u3400-\u9fff])")  # digits read in Chinese
_WORD = re.compile(r"[a-z0-9']+")


@dataclass(frozen=True, slots=True)
class Choice:
    """One thing the customer may pick, with the phrases that name it (any language).

    Attributes:
        key: What the caller acts on when it is picked (e.g. a button id).
        phrases: The ways to say it: the button's label in both languages, aliases.
    """

    key: str
    phrases: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Match:
    """The best choice for what was heard.

    Attributes:
        key: The choice's key.
        phrase: The phrase that matched.
        similarity: How alike the phrase and the matched stretch sound, in [0, 1].
        coverage: The share of the heard content words the phrase covers, in [0, 1].
        confidence: ``similarity`` scaled by coverage; compared with the threshold.
    """

    key: str
    phrase: str
    similarity: float
    coverage: float
    confidence: float


def _is_han(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


@dataclass(frozen=True, slots=True)
class _Token:
    """One sound unit: a Mandarin syllable (initial, final) or a phonetically spelt word."""

    initial: str
    final: str
    han: bool

    @property
    def text(self) -> str:
        return self.initial + self.final


def _string_similarity(a: str, b: str) -> float:
    if not a and not b:
        return 1.0
    return 1.0 - edit_distance(a, b) / max(len(a), len(b))


def phonetic_word(word: str) -> str:
    """A light phonetic spelling of an English word, so sound-alike spellings compare close."""
    w = word.lower().replace("'", "")
    for old, new in (("ph", "f"), ("ck", "k"), ("qu", "kw"), ("x", "ks"), ("dg", "j"), ("wh", "w"), ("z", "s")):
        w = w.replace(old, new)
    w = re.sub(r"c(?=[eiy])", "s", w).replace("c", "k")
    w = re.sub(r"(?<=[a-z])y", "i", w)
    if len(w) > 3 and w.endswith("e"):
        w = w[:-1]
    return re.sub(r"(.)\1+", r"\1", w)


@lru_cache(maxsize=4096)
def _syllables(text: str) -> tuple[_Token, ...]:
    from pypinyin import Style, pinyin

    initials = [p[0] for p in pinyin(text, style=Style.INITIALS, strict=True, errors="ignore")]
    finals = [p[0] for p in pinyin(text, style=Style.FINALS, strict=True, errors="ignore")]
    return tuple(_Token(i, f, han=True) for i, f in zip(initials, finals, strict=True))


def sound_tokens(text: str) -> tuple[_Token, ...]:
    """What ``text`` sounds like: pinyin syllables for Chinese characters, phonetic words for the rest."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _HAN_DIGITS.sub(lambda m: "".join(_ZH_DIGITS[d] for d in m.group()), text)
    tokens: list[_Token] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            tokens.extend(_syllables("".join(run)))
            run.clear()

    rest: list[str] = []
    for ch in text:
        if _is_han(ch):
            if rest:
                tokens.extend(_Token(phonetic_word(w), "", han=False) for w in _WORD.findall("".join(rest)))
                rest.clear()
            run.append(ch)
        else:
            flush()
            rest.append(ch)
    flush()
    if rest:
        tokens.extend(_Token(phonetic_word(w), "", han=False) for w in _WORD.findall("".join(rest)))
    return tuple(t for t in tokens if t.text)


_NEAR_FINALS = {
    frozenset(pair)
    for pair in (
        ("in", "ing"),
        ("en", "eng"),
        ("an", "ang"),
        ("ian", "iang"),
        ("uan", "uang"),
        ("ong", "iong"),
        ("u", "v"),
        ("e", "o"),
        ("uo", "o"),
        ("ie", "ve"),
        ("i", "v"),
        ("van", "uan"),
        ("ou", "iou"),
        ("ei", "uei"),
        ("en", "uen"),
    )
}


def _finals_close(a: str, b: str) -> bool:
    return frozenset((a, b)) in _NEAR_FINALS


def token_similarity(a: _Token, b: _Token) -> float:
    """How alike two sound units are, in [0, 1] (1: the same sound, tone ignored).

    For Mandarin syllables the final (the vowel) weighs more than the initial:
    the same final with a near initial (s/sh, n/l ...) 0.85, a near final (in/ing ...)
    with the same initial 0.8, both near 0.65, the same final alone 0.6, the same
    initial alone 0.3, otherwise at most 0.3 by spelling.
    """
    if a.han != b.han:
        return 0.5 * _string_similarity(a.text, b.text)
    if not a.han:
        return _string_similarity(a.initial, b.initial)
    if a == b:
        return 1.0
    same_initial = a.initial == b.initial
    near_initial = frozenset((a.initial, b.initial)) in _CONFUSABLE_INITIALS
    same_final = a.final == b.final
    near_final = _finals_close(a.final, b.final)
    if same_final:
        return 0.85 if near_initial else 0.6
    if near_final:
        return 0.8 if same_initial else 0.65 if near_initial else 0.4
    return 0.3 * _string_similarity(a.text, b.text)


def _align(phrase: Sequence[_Token], heard: Sequence[_Token]) -> tuple[float, int, int]:
    """Best alignment of the whole ``phrase`` with a stretch of ``heard``: (cost, start, end)."""
    m, n = len(phrase), len(heard)
    # cost[j], start[j]: the phrase's first i tokens aligned with a stretch of heard ending at j
    cost = [0.0] * (n + 1)
    start = list(range(n + 1))
    for i in range(1, m + 1):
        new_cost = [cost[0] + 1.0] + [0.0] * n
        new_start = [0] * (n + 1)
        for j in range(1, n + 1):
            options = (
                (cost[j - 1] + 1.0 - token_similarity(phrase[i - 1], heard[j - 1]), start[j - 1]),
                (cost[j] + 1.0, start[j]),  # a phrase token not heard
                (new_cost[j - 1] + _EXTRA, new_start[j - 1]),  # an extra heard word inside the stretch
            )
            new_cost[j], new_start[j] = min(options, key=lambda o: o[0])
        cost, start = new_cost, new_start
    best = min(range(n + 1), key=lambda j: (cost[j], -j))
    return cost[best], start[best], best


def _content(tokens: Sequence[_Token], text: str) -> int:
    """How many of the heard tokens carry content (fillers such as 我要 / I want left out)."""
    fillers = 0
    han = [ch for ch in unicodedata.normalize("NFKC", text) if _is_han(ch)]
    fillers += sum(ch in _ZH_FILLERS for ch in han)
    fillers += sum(w in _EN_FILLERS for w in _WORD.findall(text.lower()))
    return max(1, len(tokens) - fillers)


def score(phrase: str, heard: str) -> tuple[float, float]:
    """(similarity, coverage) of ``phrase`` against the heard text; (0, 0) when either is empty."""
    p, h = sound_tokens(phrase), sound_tokens(heard)[:MAX_HEARD_TOKENS]
    if not p or not h:
        return 0.0, 0.0
    cost, begin, end = _align(p, h)
    similarity = max(0.0, 1.0 - cost / len(p))
    coverage = min(1.0, max(len(p), end - begin) / _content(h, heard))
    if len(h) < len(p):  # the customer said part of a long label ("人工" for 人工服务)
        part_cost, _b, _e = _align(h, p)
        part = max(0.0, 1.0 - part_cost / len(h)) * (0.5 + 0.5 * len(h) / len(p))
        if part > similarity:
            return part, 1.0
    return similarity, coverage


def confidence_of(similarity: float, coverage: float) -> float:
    """The match confidence: similarity, scaled down when the phrase covers little of what was said."""
    return similarity * (0.4 + 0.6 * coverage)


def ranked(heard: str, choices: Iterable[Choice]) -> list[Match]:
    """Each choice's best-sounding phrase against ``heard``, most confident first."""
    best: dict[str, Match] = {}
    for choice in choices:
        for phrase in choice.phrases:
            similarity, coverage = score(phrase, heard)
            found = Match(
                choice.key,
                phrase,
                round(similarity, 4),
                round(coverage, 4),
                round(confidence_of(similarity, coverage), 4),
            )
            if choice.key not in best or found.confidence > best[choice.key].confidence:
                best[choice.key] = found
    return sorted(best.values(), key=lambda m: m.confidence, reverse=True)


def match(
    heard: str, choices: Iterable[Choice], *, threshold: float = THRESHOLD, margin: float = MARGIN
) -> Match | None:
    """The choice ``heard`` names, or None (below ``threshold``, or two choices too close to tell apart).

    Args:
        heard: The recogniser's text.
        choices: What is on offer.
        threshold: Lowest confidence accepted.
        margin: The best choice must beat the best *other* choice by at least this much.
    """
    found = ranked(heard, choices)
    if not found or found[0].confidence < threshold:
        return None
    if len(found) > 1 and found[0].confidence - found[1].confidence < margin:
        return None
    return found[0]
