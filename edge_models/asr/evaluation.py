"""Scoring recognisers: word and character error rates, and the recorded test sets they are scored on.

- :func:`word_errors` (English, after a light normalisation: case, punctuation,
  small numbers as words, "Mr." as "mister") and :func:`char_errors`
  (Mandarin, simplified characters, punctuation and spaces left out).
- :func:`read_set` reads a folder of ``NNN.wav`` with ``transcripts.tsv``
  (``file<TAB>text``), as ``scripts/make_voice_set.py`` writes.
- :func:`pocketsphinx_sets` finds the real English recordings of Debian's
  ``pocketsphinx-testdata`` (LibriVox sentences, card names) with their transcripts.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

POCKETSPHINX_DATA = Path("/usr/share/pocketsphinx/test/data")
_NUMBER_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty"
)
_NUMBERS = {str(n): w for n, w in enumerate(re.findall(r"[a-z]+", _NUMBER_WORDS))}
_ABBREVIATIONS = {"mr": "mister", "mrs": "missus", "dr": "doctor", "st": "saint"}
_LINE = re.compile(r"^<s>\s*(?P<text>.*?)\s*</s>\s*\((?P<id>[^)]+)\)\s*$")


class EvalSetError(ValueError):
    """A test set folder is missing files or its transcripts are malformed."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One recording and what was said."""

    path: Path
    text: str
    lang: str


def edit_distance(a: Sequence[str], b: Sequence[str]) -> int:
    """Levenshtein distance between two token sequences."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[:], i
        for j, cb in enumerate(b, 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ca != cb))
    return row[-1]


def english_words(text: str) -> list[str]:
    """Lower-case words without punctuation; small numbers spelt out, "Mr." as "mister"."""
    text = unicodedata.normalize("NFKC", text).lower().replace("-", " ")
    words = re.findall(r"[a-z0-9']+", text)
    return [_NUMBERS.get(w, _ABBREVIATIONS.get(w, w)) for w in words]


def chinese_chars(text: str) -> list[str]:
    """Simplified characters (and other letters/digits) of Mandarin text, punctuation and spaces left out."""
    import opencc

    simplified = str(opencc.OpenCC("t2s").convert(unicodedata.normalize("NFKC", text)))
    return [ch for ch in simplified if ch.isalnum()]


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(word edits, reference words) of an English hypothesis."""
    ref = english_words(reference)
    return edit_distance(ref, english_words(hypothesis)), len(ref)


def char_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(character edits, reference characters) of a Mandarin hypothesis."""
    ref = chinese_chars(reference)
    return edit_distance(ref, chinese_chars(hypothesis)), len(ref)


def errors(reference: str, hypothesis: str, lang: str) -> tuple[int, int]:
    """Word errors for English, character errors for Mandarin."""
    return char_errors(reference, hypothesis) if lang == "zh" else word_errors(reference, hypothesis)


def read_set(folder: Path, lang: str) -> list[Sample]:
    """The recordings of a folder with ``transcripts.tsv`` (``file<TAB>text`` per line).

    Raises:
        EvalSetError: no transcripts file, a malformed line, or a listed file missing.
    """
    index = folder / "transcripts.tsv"
    if not index.is_file():
        raise EvalSetError(f"{folder} has no transcripts.tsv")
    samples = []
    for number, line in enumerate(index.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, text = line.partition("\t")
        if not sep or not text.strip() or "/" in name:
            raise EvalSetError(f"{index}:{number}: expected 'file<TAB>text'")
        path = folder / name
        if not path.is_file():
            raise EvalSetError(f"{index}:{number}: {name} does not exist")
        samples.append(Sample(path, text.strip(), lang))
    if not samples:
        raise EvalSetError(f"{index} lists no recordings")
    return samples


def pocketsphinx_sets(root: Path = POCKETSPHINX_DATA) -> list[Sample]:
    """Real English recordings from ``pocketsphinx-testdata``: LibriVox sentences and card names.

    Returns an empty list when the package is not installed.
    """
    out: list[Sample] = []
    for folder, index in (("librivox", "transcription"), ("cards", "cards.transcription")):
        path = root / folder / index
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            found = _LINE.match(line.strip())
            if found and (root / folder / f"{found['id']}.wav").is_file():
                out.append(Sample(root / folder / f"{found['id']}.wav", found["text"], "en"))
    return out
