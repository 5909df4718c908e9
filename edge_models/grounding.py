"""Checks on text a language model wrote, against the sources it was given. Pure.

A small model paraphrasing a bank's FAQ passage can invent a fee, rename a
product, drop or add a "not", or repeat what the customer typed. These
checks are cheap and conservative: a draft that fails any of them is not
shown, and the caller falls back to the source text itself.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*%?")
_TITLE_TERM = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)+\b")
_CJK_QUOTED = re.compile(r"[「“\"《]([^」”\"》]{2,20})[」”\"》]")
_WORD = re.compile(r"[a-z][a-z'-]*")
_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_EN_NEGATIONS = frozenset(
    {"not", "no", "never", "cannot", "can't", "don't", "doesn't", "isn't", "aren't", "won't", "without", "nor"}
)
_ZH_NEGATIONS = ("不", "没", "无", "未", "别", "勿", "非")
_EN_AFFIRMATIONS = frozenset({"yes", "yeah", "sure", "certainly", "definitely"})
_ZH_AFFIRMATIONS = ("是的", "对的", "当然", "肯定")
# Words that qualify a fact ("usually free", "可能收取"): an answer that restates a qualified sentence without
# any of them states it as always true.
_EN_HEDGES = frozenset(
    {
        "usually",
        "generally",
        "typically",
        "normally",
        "often",
        "may",
        "might",
        "some",
        "most",
        "mostly",
        "depending",
        "depends",
        "vary",
        "varies",
        "subject",
        "possibly",
        "sometimes",
        "certain",
    }
)
_ZH_HEDGES = (
    "一般",
    "通常",
    "可能",
    "部分",
    "视",
    "大多",
    "原则上",
    "为准",
    "一些",
    "或许",
    "多数",
    "不一定",
    "酌情",
    "有些",
)
_SENTENCE = re.compile(r"[^.!?;。！？；]+")
_CLAUSE = re.compile(r"[^.!?;。！？；,，]+")  # a qualifier belongs to its clause: Chinese joins them with commas
_SAME_SENTENCE = 0.3  # Jaccard overlap of content units at which an answer sentence restates a source sentence
# Words that carry no fact: leaving them out of the support count keeps short answers fair.
_STOPWORD_TEXT = """
a an the is are was were be been being am do does did to of in on at by for from with and or but if so as
it its this that these those there here you your yours we our us i me my he she they them their his her
can could will would shall should may might must please yes also just then than too very more most
what which who whom when where why how any all each some such only own same into about over under up
out off again once have has had having get gets got
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def grounded(answer: str, sources: Sequence[str]) -> bool:
    """True when every number and product name in ``answer`` appears in ``sources``.

    Numbers match with or without thousands separators; product names are
    runs of capitalised English words and quoted Chinese terms.
    """
    corpus = " ".join(sources)
    compact = corpus.replace(",", "")
    for number in _NUMBER.findall(answer):
        if number not in corpus and number.replace(",", "") not in compact:
            return False
    names = _TITLE_TERM.findall(answer) + _CJK_QUOTED.findall(answer)
    return all(name in corpus for name in names)


def _stem(word: str) -> str:
    word = word.strip("'-")
    for suffix in ("ing", "ies", "es", "ed", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def content_units(text: str) -> set[str]:
    """The fact-bearing units of ``text``: stemmed English content words and Han character pairs."""
    units = {_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOPWORDS and len(w) > 1}
    for run in _HAN_RUN.findall(text):
        units.update(run[i : i + 2] for i in range(len(run) - 1))
        if len(run) == 1:
            units.add(run)
    units.discard("")
    return units


def support(answer: str, sources: Sequence[str]) -> float:
    """Share of the answer's content units that occur in ``sources`` (1.0 for an answer without any)."""
    units = content_units(answer)
    if not units:
        return 1.0
    known = content_units(" ".join(sources))
    return sum(unit in known for unit in units) / len(units)


def negations(text: str) -> set[str]:
    """Negation words of ``text`` (English words, Chinese characters)."""
    found = {w for w in _WORD.findall(text.lower()) if w in _EN_NEGATIONS}
    found.update(ch for ch in _ZH_NEGATIONS if ch in text)
    return found


def new_negation(answer: str, sources: Sequence[str]) -> bool:
    """True when the answer negates with a word the sources never use (a flipped fact)."""
    return bool(negations(answer) - negations(" ".join(sources)))


def in_language(text: str, lang: str) -> bool:
    """True when ``text`` is written in ``lang``: Chinese has Han characters, English has none."""
    has_han = _HAN_RUN.search(text) is not None
    return has_han if lang == "zh" else not has_han and _WORD.search(text.lower()) is not None


def new_affirmation(answer: str, sources: Sequence[str]) -> bool:
    """True when the answer says "yes" (or 是的) and the sources never do."""
    corpus = " ".join(sources)
    said = {w for w in _WORD.findall(answer.lower()) if w in _EN_AFFIRMATIONS}
    if said - {w for w in _WORD.findall(corpus.lower()) if w in _EN_AFFIRMATIONS}:
        return True
    return any(word in answer and word not in corpus for word in _ZH_AFFIRMATIONS)


def flipped_sentence(answer: str, sources: Sequence[str]) -> bool:
    """True when a sentence of the answer restates a source sentence with the opposite polarity.

    Each answer sentence is matched to the source sentence that shares the
    most content units with it; when they share enough to be the same
    statement and only one of them is negated ("cannot be lifted" / "can
    lift"), the fact was flipped.
    """
    restated = [(content_units(s), bool(negations(s))) for src in sources for s in _SENTENCE.findall(src)]
    for sentence in _SENTENCE.findall(answer):
        negated = _restated(content_units(sentence), restated)
        if negated is not None and bool(negations(sentence)) != negated:
            return True
    return False


def _restated(units: set[str], candidates: Sequence[tuple[set[str], bool]]) -> bool | None:
    """The flag of the candidate that ``units`` restate (the one sharing the most content units, if enough).

    None when ``units`` are too few to be a statement or no candidate shares enough with them.
    """
    if len(units) < 2 or not candidates:
        return None
    best_units, flag = max(candidates, key=lambda item: len(units & item[0]) / len(units | item[0]))
    return flag if len(units & best_units) / len(units | best_units) >= _SAME_SENTENCE else None


def hedges(text: str) -> set[str]:
    """Qualifying words of ``text`` (English words, Chinese terms)."""
    found = {w for w in _WORD.findall(text.lower()) if w in _EN_HEDGES}
    found.update(term for term in _ZH_HEDGES if term in text)
    return found


def dropped_qualifier(answer: str, sources: Sequence[str]) -> bool:
    """True when a clause of the answer restates a qualified source clause without any qualifier.

    "Transfers to other banks are usually free" restated as "No fee for transfers to other
    banks" turns a rule with exceptions into a promise the bank did not make.
    """
    restated = [(content_units(c), bool(hedges(c))) for src in sources for c in _CLAUSE.findall(src)]
    for sentence in _SENTENCE.findall(answer):
        if hedges(sentence):  # "In most cases, withdrawals are free": qualified, whichever clause says it
            continue
        if any(_restated(content_units(clause), restated) for clause in _CLAUSE.findall(sentence)):
            return True
    return False
