"""The runtime listening for real: espeak-ng utterances spoken into the simulated (WAV) microphone in real
time, endpointing, real whisper, the dialogue engine, real espeak-ng replies on a real-time speaker;
half duplex, barge-in by voice and by touch, the grammar following a policy switch, voice settings
from the admin page's settings table."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest

from edge_models.asr import AsrEngine, AsrModels, AsrStream
from edge_models.audio import Int16Array, Pcm, convert
from edge_models.speech import Transcript
from edge_models.tts import EspeakSynthesizer, TtsSettings
from hardware.audio import DuplexSettings, SimulatedMicrophone, WavFileSpeaker
from kiosk.config import DEFAULT_POLICY_DIR, Settings
from kiosk.conversation import Conversations
from kiosk.dialogue.engine import DialogueEngine
from kiosk.dialogue.ports import MemoryTicketDispenser
from kiosk.policy import load_policy
from kiosk.runtime import KioskRuntime, RuntimeConfig, StageBudgets
from kiosk.runtime.devices import Devices
from kiosk.storage import Store
from kiosk.voice.turn import VoiceConfig
from tests.voice_support import voice_state

T = TypeVar("T")
TIMEOUT_S = 240.0


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(coro, timeout=TIMEOUT_S))


async def until(check: Callable[[], Any], timeout_s: float = 60.0) -> Any:
    async with asyncio.timeout(timeout_s):
        while not (value := check()):
            await asyncio.sleep(0.05)
        return value


@pytest.fixture(scope="module")
def whisper(tmp_path_factory: pytest.TempPathFactory) -> AsrEngine:
    return AsrModels(voice_state(tmp_path_factory), build_defaults=False).engine_for("auto")


@pytest.fixture(scope="module")
def synth() -> EspeakSynthesizer:
    return EspeakSynthesizer()


@pytest.fixture(scope="module")
def customer() -> Callable[[str, str], Pcm]:
    voices = {"en": EspeakSynthesizer(TtsSettings(rate_wpm=130)), "zh": EspeakSynthesizer(TtsSettings(rate_wpm=110))}
    return lambda text, lang: voices[lang].synthesize(text, lang).pcm


class PlayedSpeaker(WavFileSpeaker):
    """The real-time simulated speaker, remembering how long each playback lasted and whether it finished."""

    def __init__(self, realtime: bool = True) -> None:
        super().__init__(realtime=realtime)
        self.played: list[tuple[float, bool]] = []
        self.peaks: list[int] = []

    def play(self, pcm: Pcm, *, epoch: int | None = None) -> bool:
        done = super().play(pcm, epoch=epoch)
        self.played.append((pcm.duration_ms, done))
        self.peaks.append(int(abs(pcm.samples.astype("int32")).max()) if len(pcm.samples) else 0)
        return done


def kiosk(
    asr: AsrEngine | None,
    synth: EspeakSynthesizer,
    voice: VoiceConfig,
    *,
    conversations: Conversations | None = None,
    mic: SimulatedMicrophone | None = None,
    speaker: PlayedSpeaker | None = None,
    speak: bool = True,
) -> KioskRuntime:
    if conversations is None:
        engine = DialogueEngine(load_policy(DEFAULT_POLICY_DIR), None, tickets=MemoryTicketDispenser())
        conversations = Conversations(engine, None)
    devices = Devices(speaker=speaker or PlayedSpeaker(), microphone="simulated" if mic else "none", mic=mic)
    budgets = StageBudgets(asr_s=30, dialogue_s=30, tts_s=30)  # a busy 2-core machine: no skipped stages
    config = RuntimeConfig(voice=voice, speak=speak, budgets=budgets)
    return KioskRuntime(conversations, devices, config, synth=synth, asr=asr)


def test_the_kiosk_listens_continuously_and_takes_turns_half_duplex(
    whisper: AsrEngine, synth: EspeakSynthesizer, customer: Callable[[str, str], Pcm]
) -> None:
    mic = SimulatedMicrophone(realtime=True)
    voice = VoiceConfig(lang="session", duplex=DuplexSettings(barge_in=False))

    async def scenario() -> KioskRuntime:
        rt = kiosk(whisper, synth, voice, mic=mic)
        await rt.start()
        mic.say(customer("Is anyone there?", "en"), label="before-arrival", silence_after_ms=300)
        await until(lambda: mic.idle)
        await rt.arrive(lang="en")
        assert rt.speaking
        # Said while the kiosk greets (no barge-in configured): the kiosk does not hear it.
        mic.say(customer("I lost my bank card", "en"), label="during-greeting")
        await until(lambda: not rt.speaking and mic.idle)
        assert rt.turn_count == 0
        # A sequence of utterances with silences between them, each after the kiosk's reply; the
        # customer taps the language button before changing language (the session's language is heard).
        script = [
            ("I need a ticket for the counter.", "en"),
            ("我的银行卡丢了", "zh"),
            ("I want to talk to a real person", "en"),
        ]
        for number, (text, lang) in enumerate(script, start=1):
            if lang != rt.lang:
                await rt.button("ui:lang")
            mic.silence(700)
            mic.say(customer(text, lang), label=f"turn-{number}", silence_after_ms=1500)
            await until(lambda n=number: rt.turn_count >= n, 90)  # type: ignore[misc]
            await until(lambda: not rt.speaking, 90)
        await rt.stop()
        return rt

    rt = run(scenario())
    turns = list(rt.turns)
    assert [t.source for t in turns] == ["voice", "voice", "voice"]
    ticket, card, person = turns
    assert (ticket.intent, ticket.action, ticket.lang) == ("queue_ticket", "ask", "en")
    assert "ticket" in ticket.heard.lower()
    assert card.lang == "zh"
    assert "卡" in card.heard  # whisper-base hears espeak-ng Mandarin only partly (CER ~0.8): the key word
    assert card.intent == "card_lost" or card.action == "clarify"
    assert person.lang == "en"
    assert (person.intent, person.handoff) == ("human_agent", "handoff")
    assert all(t.asr_confidence is not None and t.asr_confidence > 0 for t in turns)
    heard = [e for e in rt.events if e["event"] == "heard"]
    assert len(heard) == 3  # nothing from before the customer arrived, nothing of the kiosk's own greeting time
    assert [label for label, _ in mic.heard] == [
        "before-arrival",
        "during-greeting",
        "turn-1",
        "turn-2",
        "turn-3",
    ]
    assert rt.supervisor.status["microphone"].state == "stopped"


def test_the_customers_voice_stops_the_kiosks_speech_and_takes_a_new_turn(
    whisper: AsrEngine, synth: EspeakSynthesizer, customer: Callable[[str, str], Pcm]
) -> None:
    mic = SimulatedMicrophone(realtime=True)
    speaker = PlayedSpeaker()

    async def scenario() -> KioskRuntime:
        rt = kiosk(whisper, synth, VoiceConfig(lang="en"), mic=mic, speaker=speaker)
        await rt.start()
        await rt.arrive(lang="en")
        await rt.wait_speech()
        answered = await rt.text("What is the dollar rate today?")
        assert answered.reply
        assert rt.speaking
        await asyncio.sleep(0.8)  # the kiosk is talking ...
        mic.say(customer("I want to talk to a real person", "en"), label="barge-in", silence_after_ms=1500)
        await until(lambda: rt.turn_count >= 2, 90)
        await rt.stop()
        return rt

    rt = run(scenario())
    events = [e["event"] for e in rt.events]
    assert "barge_in" in events
    assert events.index("barge_in") < events.index("heard")
    assert speaker.stopped_at is not None
    assert any(not done for _, done in speaker.played)  # a reply stopped before its end
    _answered, person = rt.turns
    assert person.source == "voice"
    assert (person.intent, person.handoff) == ("human_agent", "handoff")


def test_a_touch_stops_the_kiosks_speech_and_takes_a_new_turn(synth: EspeakSynthesizer) -> None:
    speaker = PlayedSpeaker()

    async def scenario() -> KioskRuntime:
        rt = kiosk(None, synth, VoiceConfig(), speaker=speaker)
        await rt.start()
        await rt.arrive(lang="en")
        assert rt.speaking
        await asyncio.sleep(0.3)
        record = await rt.text("I want to talk to a real person")
        assert record.handoff == "handoff"
        await rt.stop()
        return rt

    rt = run(scenario())
    assert [e["by"] for e in rt.events if e["event"] == "barge_in"] == ["touch"]
    assert speaker.played[0][1] is False  # the greeting was cut
    assert speaker.stopped_at is not None


def test_voice_settings_from_the_admin_page_apply_from_the_next_reply(synth: EspeakSynthesizer, tmp_path: Path) -> None:
    store = Store(tmp_path / "kiosk.db")
    speaker = PlayedSpeaker(realtime=False)
    engine = DialogueEngine(load_policy(DEFAULT_POLICY_DIR), None, tickets=MemoryTicketDispenser())

    async def greeting() -> tuple[float, int]:
        before = len(speaker.played)
        await rt.arrive(lang="en")
        await rt.wait_speech()
        await rt.end_session("left")
        return sum(ms for ms, _ in speaker.played[before:]), max(speaker.peaks[before:])

    async def scenario() -> list[tuple[float, int]]:
        normal = await greeting()
        store.set_setting("admin.speech_rate", 0.6, "anna")  # staff slow it down on the admin page
        slow = await greeting()
        store.set_setting("admin.speech_rate", 1.0, "anna")
        store.set_setting("admin.elderly_mode", True, "anna")
        elderly = await greeting()
        store.set_setting("admin.volume", 0, "anna")
        muted = await greeting()
        return [normal, slow, elderly, muted]

    rt = kiosk(None, synth, VoiceConfig(rate_wpm=180), conversations=Conversations(engine, store), speaker=speaker)
    try:
        normal, slow, elderly, muted = run(scenario())
    finally:
        store.close()
    assert slow[0] > normal[0] * 1.3  # 0.6 x the rate: a much longer greeting
    assert normal[0] * 1.1 < elderly[0] < slow[0]
    assert muted[0] == pytest.approx(elderly[0], rel=0.05)
    assert normal[1] > 1000
    assert muted[1] < normal[1] / 10


class GrammarRecorder(AsrEngine):
    """A grammar-capable recogniser (a neighbour): records the phrase list of each utterance."""

    engine = "recorder"
    model = "recorder"
    languages = ("zh", "en")
    supports_grammar = True

    def __init__(self) -> None:
        super().__init__()
        self.grammars: list[tuple[str, ...] | None] = []

    def stream(
        self, lang: str, grammar: Sequence[str] | None = None, *, max_seconds: float = 60.0, hints: Sequence[str] = ()
    ) -> AsrStream:
        self.grammars.append(tuple(grammar) if grammar is not None else None)
        engine = self

        class _Stream(AsrStream):
            def _accept(self, chunk: Int16Array) -> Transcript | None:
                return None

            def _finish(self) -> Transcript:
                return Transcript(text="取 号 排 队", lang=lang, confidence=0.9, engine=engine.engine, model="r")

        return _Stream(max_seconds=max_seconds)


def test_the_grammar_follows_a_policy_switched_between_conversations(
    synth: EspeakSynthesizer, customer: Callable[[str, str], Pcm], tmp_path: Path
) -> None:
    from bundles.activation import activate, installed_dir
    from bundles.manifest import write_manifest
    from kiosk.assembly import EngineReloader

    state = tmp_path / "state"
    settings = Settings(state_dir=state, seed_dirs=(DEFAULT_POLICY_DIR,), use_model=False, use_llm=False)
    reloader = EngineReloader.start(settings)
    conversations = Conversations(reloader.engine, None, reloader=reloader)
    recorder = GrammarRecorder()
    rt = kiosk(recorder, synth, VoiceConfig(lang="zh", grammar=True), conversations=conversations, speak=False)
    said = customer("我要取号", "zh")
    pcm = convert(said.samples.astype("float64") / 32768.0, said.rate, 1)  # 16 kHz, as the page uploads

    async def conversation() -> None:
        await rt.arrive(lang="zh")
        record = await rt.voice(pcm, "zh")
        assert record.source == "voice"
        await rt.end_session("left")

    run(conversation())
    # HQ publishes a policy with a new service; the sync agent activates it.
    new = installed_dir(state, "policy", "9.9.9")
    shutil.copytree(DEFAULT_POLICY_DIR, new)
    (new / "manifest.json").unlink()
    flows = (new / "flows.yaml").read_text(encoding="utf-8")
    (new / "flows.yaml").write_text(flows.replace("现金存取款", "外币现钞预约"), encoding="utf-8")
    write_manifest(new, name="policy", kind="policy", version="9.9.9", origin="hq")
    activate(state, "policy", "9.9.9")
    run(conversation())

    first, second = recorder.grammars
    assert first is not None
    assert second is not None
    assert "现 金 存 取 款" in first
    assert "外 币 现 钞 预 约" not in first
    assert "外 币 现 钞 预 约" in second  # the new conversation listens for the new policy's phrases
    assert "现 金 存 取 款" not in second
    assert reloader.health.policy_version == "9.9.9"


def test_listen_takes_one_turn_from_a_microphone_it_is_given(
    whisper: AsrEngine, synth: EspeakSynthesizer, customer: Callable[[str, str], Pcm], tmp_path: Path
) -> None:
    from edge_models.audio import write_wav
    from hardware.audio import WavFileMicrophone

    write_wav(tmp_path / "rate.wav", customer("What is the dollar rate today?", "en"))

    async def scenario() -> Any:
        rt = kiosk(whisper, synth, VoiceConfig(), speak=False)
        await rt.arrive(lang="en")
        return await rt.listen(WavFileMicrophone(tmp_path / "rate.wav"), "en")

    record = run(scenario())
    assert record.source == "voice"
    assert (record.intent, record.action) == ("exchange_rate", "answer")
    assert "709.52" in record.reply
    assert "asr" in record.timings_ms


def test_the_customers_elderly_mode_slows_the_next_reply_until_they_leave(synth: EspeakSynthesizer) -> None:
    from kiosk.runtime.screen import LiveScreen

    speaker = PlayedSpeaker(realtime=False)
    rt = kiosk(None, synth, VoiceConfig(), speaker=speaker)
    rt.screen = LiveScreen(270, 480, 10.0)

    async def reply(text: str) -> float:
        before = len(speaker.played)
        await rt.text(text)
        await rt.wait_speech()
        return sum(ms for ms, _ in speaker.played[before:])

    async def scenario() -> list[float]:
        await rt.arrive(lang="en")
        normal = await reply("What is the dollar rate today?")
        tapped = await rt.button("ui:elderly")
        assert tapped.action == "elderly"
        assert rt.screen is not None
        assert rt.screen.screen.elderly
        slow = await reply("What is the dollar rate today?")
        await rt.end_session("left")
        assert not rt.elderly
        await rt.arrive(lang="en")
        again = await reply("What is the dollar rate today?")
        return [normal, slow, again]

    normal, slow, again = run(scenario())
    assert slow > normal * 1.15  # 0.8 x the rate
    assert again == pytest.approx(normal, rel=0.05)  # the next customer hears the normal rate
