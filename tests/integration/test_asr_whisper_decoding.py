"""whisper-base decoding for real: the same audio gives the same transcript under load; short windows;
English on a real recording; a spoken slot answer matched to the offered button."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from edge_models.asr import AsrEngine, AsrModels
from edge_models.asr.evaluation import pocketsphinx_sets, word_errors
from edge_models.asr.whisper_engine import MIN_WINDOW_S, window_frames
from edge_models.audio import Pcm, convert, read_wav
from edge_models.speech import Transcript
from hardware.audio import WavFileMicrophone
from kiosk.dialogue import DialogueEngine, DialogueSession, MemoryTicketDispenser, Utterance
from kiosk.policy import Policy
from kiosk.voice.choices import offer_of, voice_utterance
from kiosk.voice.turn import VoiceListener, listen
from tests.fakes import NOW, FakeClassifier
from tests.voice_support import ZH_CARD, speak, voice_dir, voice_state

HOG = "while True: pass"


@pytest.fixture(scope="module")
def whisper(tmp_path_factory: pytest.TempPathFactory) -> AsrEngine:
    return AsrModels(voice_state(tmp_path_factory)).engine_for("zh")


@pytest.fixture(scope="module")
def audio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return voice_dir(tmp_path_factory)


@contextmanager
def busy_cpus() -> Iterator[list[subprocess.Popen[bytes]]]:
    """One process spinning at full speed per core (at least two): every core busy meanwhile."""
    hogs = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(max(2, os.cpu_count() or 2))]
    try:
        time.sleep(0.3)
        yield hogs
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait(timeout=30)


def pcm16k(text: str, lang: str) -> Pcm:
    speech = speak(text, lang, 110)
    return convert(speech.samples.astype(np.float64) / 32768.0, speech.rate, 1)


def _heard(engine: AsrEngine, path: Path, lang: str) -> Transcript | None:
    """One utterance through the kiosk's own listening path (endpointer, then the recogniser)."""
    return listen(WavFileMicrophone(path), engine, lang, VoiceListener()).transcript


def _key(t: Transcript | None) -> tuple[str, tuple[tuple[str, float, float, float], ...]]:
    assert t is not None
    return t.text, tuple((w.word, w.start_s, w.end_s, w.confidence) for w in t.words)


def test_the_same_audio_gives_the_same_transcript_while_every_core_is_busy(whisper: AsrEngine, audio: Path) -> None:
    clips = [(audio / "zh-card.wav", "zh"), (audio / "en-rate.wav", "en")]
    clips += [(s.path, "en") for s in pocketsphinx_sets()[:1]]
    quiet = [_key(_heard(whisper, path, lang)) for path, lang in clips]
    with busy_cpus() as hogs:
        for _ in range(2):
            loaded = [_key(_heard(whisper, path, lang)) for path, lang in clips]
            assert all(hog.poll() is None for hog in hogs)  # the cores were busy throughout
            assert loaded == quiet
    assert ZH_CARD[1][0] in quiet[0][0]


def test_the_encoder_window_follows_the_utterance_length() -> None:
    assert window_frames(16_000) == int(MIN_WINDOW_S * 100)  # 1 s: the 10 s minimum
    assert window_frames(12 * 16_000) == 1300  # 12 s + 1 s margin
    assert window_frames(12 * 16_000 + 1) % 2 == 0  # the encoder halves the frames
    assert window_frames(40 * 16_000) == 3000  # never more than whisper's 30 s


def test_english_on_a_real_recording(whisper: AsrEngine) -> None:
    samples = pocketsphinx_sets()
    if not samples:
        pytest.fail("pocketsphinx-testdata is not installed (scripts/setup.sh installs it)")
    librivox = next(s for s in samples if "0880" in s.path.name)  # "he was not an ill disposed young man"
    heard = whisper.transcribe(read_wav(librivox.path), "en")
    edits, words = word_errors(librivox.text, heard.text)
    assert edits <= 1, (heard.text, librivox.text)
    assert words == 8
    assert heard.confidence > 0.5


def test_a_spoken_slot_answer_is_matched_to_the_offered_button(whisper: AsrEngine, policy: Policy) -> None:
    model = FakeClassifier({"汇率多少": [("exchange_rate", 0.95), ("out_of_scope", 0.05)]}, threshold=0.7)
    engine = DialogueEngine(policy, model, tickets=MemoryTicketDispenser())
    session = DialogueSession("s")
    ask = engine.handle(session, Utterance(text="汇率多少"), NOW)
    assert (ask.action, ask.flow) == ("ask", "exchange_rate")
    offer = offer_of([(b.id, b.label) for b in ask.buttons], ask.action)
    heard = whisper.transcribe(pcm16k("我要美元", "zh"), "zh")  # whisper-base writes 我要没完
    utterance, found = voice_utterance(heard, policy, offer)
    assert found is not None, heard.text
    assert found.key == "slot:exchange_rate:USD"
    assert utterance.source == "button"
    quote = engine.handle(session, utterance, NOW)
    assert quote.action == "answer"
    usd = next(c for c in policy.rates.exchange.currencies if c.code == "USD")
    assert f"{usd.buy:g}" in quote.reply
