"""Lip sync: viseme timelines to mouth shapes, with co-articulation smoothing.

Pure: no pygame, no clock. The renderer asks for the mouth at an audio
playback time; the same time in gives the same mouth out.

Until TTS delivers real timelines (espeak-ng phoneme events), ``timeline_from_text``
builds one from text with letter rules (English) and a syllable-per-character
rhythm (Chinese), so renders and tests have realistic mouth motion.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import Literal

from edge_models.speech import Viseme, VisemeCue, VisemeTimeline

Lang = Literal["zh", "en"]


@dataclass(frozen=True, slots=True)
class MouthShape:
    """Geometry of the mouth, each field 0..1 (``width`` around 1)."""

    open: float = 0.0
    width: float = 1.0
    round: float = 0.0
    teeth: float = 0.0
    tongue: float = 0.0

    def lerp(self, other: MouthShape, k: float) -> MouthShape:
        """The shape ``k`` of the way from this one to ``other``."""
        return MouthShape(
            open=self.open + (other.open - self.open) * k,
            width=self.width + (other.width - self.width) * k,
            round=self.round + (other.round - self.round) * k,
            teeth=self.teeth + (other.teeth - self.teeth) * k,
            tongue=self.tongue + (other.tongue - self.tongue) * k,
        )


# Rhubarb's mouth shapes (see edge_models/speech.py).
VISEME_SHAPES: dict[Viseme, MouthShape] = {
    "A": MouthShape(open=0.0, width=0.96),
    "B": MouthShape(open=0.16, width=1.0, teeth=0.8),
    "C": MouthShape(open=0.45, width=1.06, teeth=0.5),
    "D": MouthShape(open=0.85, width=1.08, teeth=0.35),
    "E": MouthShape(open=0.5, width=0.78, round=0.6),
    "F": MouthShape(open=0.22, width=0.6, round=1.0),
    "G": MouthShape(open=0.12, width=0.98, teeth=1.0),
    "H": MouthShape(open=0.42, width=1.0, teeth=0.4, tongue=1.0),
    "X": MouthShape(open=0.0, width=1.0),
}

_LETTER_VISEMES: dict[str, Viseme] = {
    **dict.fromkeys("pbm", "A"),
    **dict.fromkeys("fv", "G"),
    "l": "H",
    **dict.fromkeys("o", "E"),
    **dict.fromkeys("uwq", "F"),
    "a": "D",
    **dict.fromkeys("eiy", "C"),
}
# Chinese syllables: an initial consonant then a final vowel.
_ZH_INITIALS: tuple[Viseme, ...] = ("A", "B", "B", "G", "H", "F", "B", "A")
_ZH_FINALS: tuple[Viseme, ...] = ("D", "C", "E", "C", "D", "F", "C", "E", "D")
_PAUSE_CHARS = set(",.;:!?，。；：！？、…\n")

EN_LETTER_MS = 68.0
ZH_SYLLABLE_MS = 210.0
PAUSE_MS = 260.0
SPACE_MS = 40.0


def _is_han(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


def timeline_from_text(text: str, lang: Lang, rate: float = 1.0) -> VisemeTimeline:
    """A plausible viseme timeline for ``text`` spoken at ``rate`` (1.0 = normal).

    Args:
        text: What is said.
        lang: Main language; Han characters are read as syllables in either.
        rate: Speaking rate; 0.8 is the elderly-friendly pace.

    Returns:
        A timeline starting at 0 ms, with pauses (X) at punctuation.

    Raises:
        ValueError: If ``rate`` is not positive.
    """
    if rate <= 0 or not math.isfinite(rate):
        raise ValueError(f"speaking rate must be positive, got {rate}")
    scale = 1.0 / rate
    letter_ms = (EN_LETTER_MS if lang == "en" else EN_LETTER_MS * 1.1) * scale
    pieces: list[tuple[Viseme, float, str]] = []
    for ch in text:
        low = ch.lower()
        if _is_han(ch):
            code = ord(ch)
            pieces.append((_ZH_INITIALS[code % len(_ZH_INITIALS)], ZH_SYLLABLE_MS * 0.35 * scale, ch))
            pieces.append((_ZH_FINALS[(code // 7) % len(_ZH_FINALS)], ZH_SYLLABLE_MS * 0.65 * scale, ch))
        elif ch in _PAUSE_CHARS:
            pieces.append(("X", PAUSE_MS * scale, ch))
        elif ch.isspace():
            pieces.append(("X", SPACE_MS * scale, ch))
        elif low.isalpha():
            pieces.append((_LETTER_VISEMES.get(low, "B"), letter_ms, ch))
        elif ch.isdigit():
            pieces.append(("C", letter_ms * 2.5, ch))
    cues: list[VisemeCue] = []
    t = 0.0
    for viseme, length, source in pieces:
        if cues and cues[-1].viseme == viseme:
            last = cues[-1]
            cues[-1] = VisemeCue(start_ms=last.start_ms, end_ms=t + length, viseme=viseme, phoneme=last.phoneme)
        elif viseme != "X":
            cues.append(VisemeCue(start_ms=t, end_ms=t + length, viseme=viseme, phoneme=source))
        t += length
    # Drop trailing silence from the duration but keep a short closing rest.
    end = cues[-1].end_ms + 120.0 if cues else 0.0
    return VisemeTimeline(duration_ms=round(end, 3), cues=tuple(cues))


@dataclass(frozen=True, slots=True)
class Key:
    """The moment the target mouth changes to ``viseme``."""

    t_ms: float
    viseme: Viseme


class MouthTrack:
    """Mouth shapes of one timeline at any playback time, smoothed.

    Co-articulation: each change of viseme is a smooth blend over
    ``blend_ms`` centred on the cue's start (shorter when the neighbouring
    segments are shorter), so the new shape is dominant from exactly its
    scheduled time and the mouth never jumps.
    """

    def __init__(self, timeline: VisemeTimeline, blend_ms: float = 70.0) -> None:
        """Prepare the change points of ``timeline``."""
        keys: list[Key] = [Key(0.0, "X")]
        prev_end = 0.0
        for cue in sorted(timeline.cues, key=lambda c: c.start_ms):
            if cue.end_ms <= cue.start_ms:
                continue
            if cue.start_ms > prev_end and keys[-1].viseme != "X":
                keys.append(Key(prev_end, "X"))
            if cue.viseme != keys[-1].viseme:
                if cue.start_ms <= keys[-1].t_ms:
                    keys[-1] = Key(keys[-1].t_ms, cue.viseme)
                else:
                    keys.append(Key(cue.start_ms, cue.viseme))
            prev_end = max(prev_end, cue.end_ms)
        if keys[-1].viseme != "X":
            keys.append(Key(prev_end, "X"))
        self.keys: tuple[Key, ...] = tuple(keys)
        self._times = [k.t_ms for k in keys]
        self.blend_ms = blend_ms
        self.duration_ms = timeline.duration_ms

    def viseme_at(self, t_ms: float) -> Viseme:
        """The dominant viseme at ``t_ms``: the one whose segment holds it."""
        i = bisect.bisect_right(self._times, t_ms) - 1
        return self.keys[max(i, 0)].viseme

    def _half(self, i: int) -> float:
        """Half of the blend window around change point ``i``."""
        before = self._times[i] - self._times[i - 1] if i > 0 else math.inf
        after = self._times[i + 1] - self._times[i] if i + 1 < len(self._times) else math.inf
        return min(self.blend_ms / 2, before / 2, after / 2)

    def shape_at(self, t_ms: float) -> MouthShape:
        """The smoothed mouth at playback time ``t_ms``."""
        i = max(bisect.bisect_right(self._times, t_ms) - 1, 0)
        # Blend across the change point nearest to t (i at its start, i+1 at its end).
        for j in (i, i + 1):
            if 0 < j < len(self._times):
                half = self._half(j)
                if half > 0 and abs(t_ms - self._times[j]) < half:
                    u = (t_ms - self._times[j] + half) / (2 * half)
                    k = u * u * (3 - 2 * u)
                    return VISEME_SHAPES[self.keys[j - 1].viseme].lerp(VISEME_SHAPES[self.keys[j].viseme], k)
        return VISEME_SHAPES[self.keys[i].viseme]


@dataclass(frozen=True, slots=True)
class SyncReport:
    """How well shown frames followed a timeline."""

    offsets_ms: tuple[float, ...]
    missed: int

    @property
    def p95_ms(self) -> float:
        """95th percentile of the absolute offsets (0 when none)."""
        return percentile([abs(o) for o in self.offsets_ms], 95)

    @property
    def max_ms(self) -> float:
        """Largest absolute offset (0 when none)."""
        return max((abs(o) for o in self.offsets_ms), default=0.0)


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (nearest rank) of ``values``; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(math.ceil(q / 100 * len(ordered)) - 1, 0)
    return ordered[rank]


def sync_offsets(track: MouthTrack, shown: list[tuple[float, float]]) -> SyncReport:
    """Offsets between each viseme change and the first frame that shows it.

    Args:
        track: The mouth track that was played.
        shown: ``(audio time the frame was drawn for, audio time it was shown)``
            per frame, in order.

    Returns:
        The offsets (shown time minus scheduled time) and how many changes no
        frame showed (segments shorter than a frame).
    """
    offsets: list[float] = []
    missed = 0
    keys = track.keys
    for n, key in enumerate(keys[1:], start=1):
        end = keys[n + 1].t_ms if n + 1 < len(keys) else math.inf
        hit = next((when for drawn, when in shown if key.t_ms <= drawn < end), None)
        if hit is None:
            missed += 1
        else:
            offsets.append(hit - key.t_ms)
    return SyncReport(offsets_ms=tuple(offsets), missed=missed)
