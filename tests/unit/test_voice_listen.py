"""Continuous listening (pure), speech settings from the kiosk and the staff, phrases from the policy,
the simulated microphone and the speaker's stop."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from edge_models.asr import AsrEngine, AsrStream, VadSettings
from edge_models.asr.whisper_engine import hotwords
from edge_models.audio import Pcm, write_wav
from hardware.audio import DuplexSettings, Microphone, SimulatedMicrophone, WavFileSpeaker
from kiosk.policy import Policy
from kiosk.storage import Store
from kiosk.voice.turn import (
    ListenEvent,
    PhraseBook,
    VoiceConfig,
    VoiceListener,
    listen,
    speech_settings,
    staff_voice,
)
from tests.voice_support import tone

FRAME_MS = 30
SILENCE = np.zeros(480, np.int16)
VOICE = tone(300, 0.03, level=0.3)  # about -13 dBFS


def feed(listener: VoiceListener, parts: Iterable[tuple[npt.NDArray[np.int16], float]]) -> list[ListenEvent]:
    events = []
    for frame, seconds in parts:
        for _ in range(round(seconds * 1000 / FRAME_MS)):
            event = listener.feed(frame, FRAME_MS)
            if event is not None:
                events.append(event)
    return events


def test_utterances_follow_one_another_on_one_microphone() -> None:
    listener = VoiceListener()
    events = feed(
        listener, [(SILENCE, 0.3), (VOICE, 0.9), (SILENCE, 1.0), (VOICE, 0.6), (SILENCE, 1.0), (SILENCE, 0.3)]
    )
    assert [e.kind for e in events] == ["utterance", "utterance"]
    first, second = (e.pcm for e in events)
    assert first is not None
    assert second is not None
    # 210 ms of silence before the speech (the pre-roll is 300 ms up to the 90 ms that started it),
    # the speech, and the trailing silence that ended it (600 ms)
    assert first.duration_ms == pytest.approx(210 + 900 + 600, abs=1)
    assert second.duration_ms == pytest.approx(210 + 600 + 600, abs=1)
    assert events[0].end == "speech_end"


def test_nobody_speaking_times_out_and_listening_goes_on() -> None:
    listener = VoiceListener(VadSettings(no_speech_timeout_ms=1000))
    events = feed(listener, [(SILENCE, 2.1), (VOICE, 0.6), (SILENCE, 0.8)])
    assert [e.kind for e in events] == ["timeout", "timeout", "utterance"]


def test_half_duplex_the_kiosk_does_not_hear_itself() -> None:
    listener = VoiceListener(duplex=DuplexSettings(barge_in=False, echo_tail_ms=150))
    feed(listener, [(SILENCE, 0.3)])
    listener.kiosk_speaking(echo_dbfs=-13.0)
    assert feed(listener, [(VOICE, 2.0)]) == []  # its own voice, loud, heard by the microphone
    listener.kiosk_silent()
    assert feed(listener, [(SILENCE, 0.12)]) == []  # echo tail
    assert not listener.in_utterance
    events = feed(listener, [(SILENCE, 0.3), (VOICE, 0.6), (SILENCE, 0.7)])
    assert [e.kind for e in events] == ["utterance"]


def test_an_utterance_cut_by_the_kiosk_speaking_is_dropped() -> None:
    listener = VoiceListener(duplex=DuplexSettings(barge_in=False))
    feed(listener, [(SILENCE, 0.3), (VOICE, 0.3)])
    assert listener.in_utterance
    listener.kiosk_speaking(echo_dbfs=-40.0)
    assert not listener.in_utterance
    assert listener.flush() is None


def test_a_voice_over_the_echo_barges_in_and_starts_the_utterance() -> None:
    listener = VoiceListener(duplex=DuplexSettings(barge_in_ms=120, voice_over_echo_db=12))
    feed(listener, [(SILENCE, 0.3)])
    listener.kiosk_speaking(echo_dbfs=-40.0)
    echo = tone(300, 0.03, level=0.01)  # about -43 dBFS: the kiosk's own voice at the microphone
    assert feed(listener, [(echo, 1.0)]) == []
    events = feed(listener, [(VOICE, 0.12)])
    assert [e.kind for e in events] == ["barge_in"]
    assert listener.in_utterance  # the customer's first 120 ms are kept
    listener.kiosk_silent()
    events = feed(listener, [(VOICE, 0.6), (SILENCE, 0.7)])
    assert [e.kind for e in events] == ["utterance"]
    pcm = events[0].pcm
    assert pcm is not None
    # the pre-roll held the voice that barged in: 300 ms, then 600 ms of voice and 600 ms of silence
    assert pcm.duration_ms == pytest.approx(300 + 600 + 600, abs=60)
    assert float(np.abs(pcm.samples[: 480 * 6]).max()) > 0  # starts with the customer's voice


def test_echo_alone_never_barges_in() -> None:
    listener = VoiceListener()
    listener.kiosk_speaking(echo_dbfs=-13.0)  # the echo is as loud as the voice
    assert feed(listener, [(VOICE, 3.0)]) == []


def test_flush_returns_the_utterance_in_progress() -> None:
    listener = VoiceListener()
    feed(listener, [(SILENCE, 0.3), (VOICE, 0.5)])
    event = listener.flush()
    assert event is not None
    assert (event.kind, event.end) == ("utterance", "end_of_stream")


@pytest.mark.parametrize(
    ("staff", "rate", "volume"),
    [
        ({}, 165, 100),
        ({"speech_rate": 0.6}, 99, 100),
        ({"elderly_mode": True}, 132, 100),
        ({"speech_rate": 0.6, "elderly_mode": True}, 80, 100),  # bounded by espeak-ng's slowest
        ({"volume": 70}, 165, 100),  # the page's default stands for the configured volume
        ({"volume": 35}, 165, 50),
        ({"volume": 100, "speech_rate": 1.4}, 231, 143),
        ({"volume": 0}, 165, 0),
    ],
    ids=["none", "slow", "elderly", "slowest", "default-volume", "half-volume", "loud-fast", "mute"],
)
def test_speech_settings_from_kiosk_and_staff(staff: dict[str, Any], rate: int, volume: int) -> None:
    settings = speech_settings(VoiceConfig(), staff)
    assert (settings.rate_wpm, settings.volume) == (rate, volume)


def test_staff_voice_reads_the_admin_settings_and_ignores_bad_ones(tmp_path: Path) -> None:
    store = Store(tmp_path / "kiosk.db")
    try:
        assert staff_voice(store.get_setting) == {}
        store.set_setting("admin.speech_rate", 0.8, "anna")
        store.set_setting("admin.elderly_mode", True, "anna")
        store.set_setting("admin.volume", "loud", "anna")  # not a number: ignored
        assert staff_voice(store.get_setting) == {"speech_rate": 0.8, "elderly_mode": True}
        store.set_setting("admin.speech_rate", 3.0, "anna")  # outside the page's bounds: ignored
        assert "speech_rate" not in staff_voice(store.get_setting)
    finally:
        store.close()

    def broken(key: str, default: Any) -> Any:
        import sqlite3

        raise sqlite3.OperationalError("database is locked")

    assert staff_voice(broken) == {}


def test_phrase_book_follows_the_policy(policy: Policy) -> None:
    book = PhraseBook()
    before = book.grammar(policy, "zh")
    assert "取 号 排 队" in before
    assert book.grammar(policy, "zh") is before  # compiled once per policy
    services = policy.flows.queue_services
    label = services[0].label.model_copy(update={"zh": "外币预约"})
    changed = (services[0].model_copy(update={"label": label}), *services[1:])
    renamed = replace(policy, version="test-2", flows=policy.flows.model_copy(update={"queue_services": changed}))
    after = book.grammar(renamed, "zh")
    assert "外 币 预 约" in after
    assert "外 币 预 约" not in before
    assert book.grammar(policy, "ko") == ()
    hints = book.hints(renamed)
    assert "外币预约" in hints
    assert "外币预约" in (hotwords(hints, "zh", max_chars=1000) or "")


def test_hotwords_keep_short_phrases_of_the_language_within_bounds() -> None:
    hints = ["银行卡挂失", "How do I open an account?", "Queue ticket", "我已经有一张本行的卡了还能再办一张吗", "美元"]
    assert hotwords(hints, "zh") == "银行卡挂失 美元"
    assert hotwords(hints, "en") == "Queue ticket"
    assert hotwords([], "zh") is None
    many = [f"短语{i:03d}" for i in range(200)]
    words = hotwords(many, "zh") or ""
    assert 0 < len(words) <= 160


def test_simulated_microphone_plays_queued_clips_between_silences(tmp_path: Path) -> None:
    write_wav(tmp_path / "a.wav", Pcm(tone(300, 0.3, rate=22_050), 22_050))  # converted to 16 kHz
    mic = SimulatedMicrophone(realtime=False, end_when_idle=True)
    mic.silence(90)
    mic.say_wav(tmp_path / "a.wav", silence_after_ms=60)
    frames = []
    while (frame := mic.read()) is not None:
        frames.append(frame)
    total = sum(len(f) for f in frames)
    assert total == pytest.approx(16_000 * (0.09 + 0.3 + 0.06), abs=20)
    assert [label for label, _ in mic.heard] == ["a.wav"]
    assert mic.idle
    with pytest.raises(ValueError, match="too much audio"):
        SimulatedMicrophone(max_queued_s=1.0).say(Pcm(np.zeros(32_000, np.int16)))


def test_simulated_microphone_is_a_quiet_lobby_paced_in_real_time() -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    mic = SimulatedMicrophone(realtime=True, clock=lambda: now[0], sleep=sleep)
    frames = [mic.read() for _ in range(100)]
    assert all(f is not None and not f.any() for f in frames)
    assert now[0] == pytest.approx(99 * 0.03, abs=0.001)


def test_a_stop_before_playback_begins_stops_it() -> None:
    speaker = WavFileSpeaker()
    epoch = speaker.epoch  # the runtime decided to play ...
    speaker.stop()  # ... and a barge-in came before the worker thread began
    assert not speaker.play(Pcm(tone(300, 0.5, rate=22_050), 22_050), epoch=epoch)
    assert speaker.take() is None
    assert speaker.stopped_at is not None
    assert speaker.play(Pcm(tone(300, 0.1, rate=22_050), 22_050))  # a new playback is not affected


def test_speaker_stop_from_another_thread() -> None:
    speaker = WavFileSpeaker(realtime=True, block_ms=50)
    result: list[bool] = []
    thread = threading.Thread(target=lambda: result.append(speaker.play(Pcm(tone(300, 3.0, rate=22_050), 22_050))))
    thread.start()
    for _ in range(1000):  # at most 10 s: the playback thread has begun writing blocks
        if speaker.blocks:
            break
        threading.Event().wait(0.01)
    assert speaker.blocks, "playback never began"
    speaker.stop()
    thread.join(timeout=10)
    assert result == [False]


class _Frames(Microphone):
    def __init__(self, frames: list[npt.NDArray[np.int16]]) -> None:
        super().__init__()
        self.frames = frames

    def _read(self, frames: int) -> npt.NDArray[np.int16] | None:
        return self.frames.pop(0) if self.frames else None


class _Unused(AsrEngine):
    engine = "unused"
    languages = ("en",)

    def stream(
        self, lang: str, grammar: Sequence[str] | None = None, *, max_seconds: float = 60.0, hints: Sequence[str] = ()
    ) -> AsrStream:
        raise AssertionError("nothing should have been recognised")


def test_listen_calibrates_each_microphone_afresh() -> None:
    listener = VoiceListener()
    quiet = listen(_Frames([SILENCE] * 40), _Unused(), "en", listener)
    assert (quiet.transcript, quiet.event) == (None, "end_of_stream")
    # a fan at about -40 dBFS: loud against the last microphone's floor, but it is this one's floor
    rng = np.random.default_rng(1)
    fan = [(rng.normal(0, 0.01, 480) * 32767).astype(np.int16) for _ in range(100)]
    noisy = listen(_Frames(fan), _Unused(), "en", listener)
    assert (noisy.transcript, noisy.event) == (None, "end_of_stream")
