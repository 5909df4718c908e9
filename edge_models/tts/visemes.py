"""Phonemes (IPA, as espeak-ng reports them) to Rhubarb visemes, and the timeline.

Pure: no audio library. Tone letters, stress and length marks are ignored;
the first sound of a phoneme decides its mouth shape.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from edge_models.speech import Viseme, VisemeCue, VisemeTimeline

# Mouth shape by the leading IPA symbol. Order matters only within a key's length.
_CONSONANTS: dict[str, Viseme] = {
    **dict.fromkeys(("p", "b", "m", "ɱ"), "A"),
    **dict.fromkeys(("f", "v"), "G"),
    **dict.fromkeys(("l", "ɫ", "ɭ", "ʎ", "ɬ", "θ", "ð"), "H"),
    **dict.fromkeys(("w", "ʍ", "ɥ"), "F"),
}
_VOWELS: dict[str, Viseme] = {
    **dict.fromkeys(("a", "ɑ", "ɐ", "æ", "ʌ", "ɒ"), "D"),
    **dict.fromkeys(("e", "ɛ", "ə", "ɜ", "ɚ", "ɝ", "ɪ", "i", "ɨ", "ɤ", "ɯ", "œ"), "C"),
    **dict.fromkeys(("o", "ɔ", "ø", "ɵ"), "E"),
    **dict.fromkeys(("u", "ʊ", "y", "ʉ"), "F"),
}
_IGNORED = frozenset("ˈˌːˑ̃ʰʲʷ˞˥˦˧˨˩-_|'0123456789")


def viseme_for(phoneme: str) -> Viseme:
    """The viseme of one espeak-ng IPA phoneme ('' and pauses are X, rest)."""
    symbols = [c for c in unicodedata.normalize("NFD", phoneme) if c not in _IGNORED and not unicodedata.combining(c)]
    if not symbols:
        return "X"
    first = symbols[0]
    if first in _CONSONANTS:
        return _CONSONANTS[first]
    if first in _VOWELS:
        return _VOWELS[first]
    # Other consonants (t, d, k, s, ʂ, tɕ, h, χ, n, ŋ, j, r, ...) open the mouth slightly.
    return "B"


@dataclass(frozen=True, slots=True)
class PhonemeEvent:
    """One phoneme starting at ``at_ms`` of the audio."""

    at_ms: float
    phoneme: str


def timeline(
    events: Sequence[PhonemeEvent],
    duration_ms: float,
    *,
    min_cue_ms: float = 20.0,
    viseme: Callable[[str], Viseme] = viseme_for,
) -> VisemeTimeline:
    """Turn phoneme start times into viseme cues covering the audio.

    Each phoneme holds until the next one starts (or the end of the audio);
    consecutive cues with the same viseme merge; cues shorter than
    ``min_cue_ms`` are dropped (the mouth cannot show them). ``viseme`` maps a
    phoneme to its mouth shape (espeak-ng IPA by default).
    """
    ordered = sorted((e for e in events if 0 <= e.at_ms <= duration_ms), key=lambda e: e.at_ms)
    cues: list[VisemeCue] = []
    for i, event in enumerate(ordered):
        end = ordered[i + 1].at_ms if i + 1 < len(ordered) else duration_ms
        if end - event.at_ms < min_cue_ms:
            continue
        shape = viseme(event.phoneme)
        if cues and cues[-1].viseme == shape and cues[-1].end_ms >= event.at_ms - 1e-6:
            last = cues[-1]
            cues[-1] = VisemeCue(start_ms=last.start_ms, end_ms=end, viseme=shape, phoneme=last.phoneme)
            continue
        start = max(event.at_ms, cues[-1].end_ms) if cues else event.at_ms
        if end > start:
            cues.append(VisemeCue(start_ms=start, end_ms=end, viseme=shape, phoneme=event.phoneme))
    return VisemeTimeline(duration_ms=duration_ms, cues=tuple(cues))
