"""Half duplex and barge-in (pure), the WAV-file microphone and the recording speaker."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from edge_models.audio import Pcm, write_wav
from hardware.audio import AudioDeviceError, DuplexGate, DuplexSettings, Microphone, WavFileMicrophone, WavFileSpeaker
from tests.voice_support import tone

QUIET = np.zeros(480, np.int16)
LOUD = tone(300, 0.03, level=0.5)  # about -9 dBFS


def test_mic_is_closed_while_speaking_and_for_the_echo_tail() -> None:
    gate = DuplexGate(DuplexSettings(echo_tail_ms=150))
    assert gate.mic_open
    gate.speech_started(echo_dbfs=-30)
    assert not gate.mic_open
    gate.speech_ended()
    assert not gate.mic_open
    for _ in range(4):
        gate.mic_frame(QUIET, 30)
    assert not gate.mic_open  # 120 ms of tail
    gate.mic_frame(QUIET, 30)
    assert gate.mic_open


def test_touch_stops_speech_at_once() -> None:
    gate = DuplexGate()
    assert gate.touch() is None
    gate.speech_started()
    assert gate.touch() == "stop_speech"
    assert not gate.speaking


@pytest.mark.parametrize(
    ("frame", "echo", "frames_needed"),
    [(LOUD, -30.0, 4), (LOUD, -5.0, None), (tone(300, 0.03, level=0.01), -60.0, None)],
    ids=["voice-over-echo-barges-in", "echo-alone-does-not", "too-quiet-does-not"],
)
def test_voice_barges_in_within_200_ms(frame: np.ndarray, echo: float, frames_needed: int | None) -> None:
    gate = DuplexGate(DuplexSettings(barge_in_ms=120))
    gate.speech_started(echo_dbfs=echo)
    results = [gate.mic_frame(frame, 30) for _ in range(10)]
    if frames_needed is None:
        assert results == [None] * 10
        assert gate.speaking
    else:
        assert results.index("stop_speech") + 1 == frames_needed  # 120 ms of voice; plus one 50 ms block < 200 ms
        assert gate.mic_open  # listening to the customer now


def test_barge_in_can_be_switched_off() -> None:
    gate = DuplexGate(DuplexSettings(barge_in=False))
    gate.speech_started(echo_dbfs=-60)
    assert all(gate.mic_frame(LOUD, 30) is None for _ in range(20))


def test_wav_microphone_frames_and_pacing(tmp_path: Path) -> None:
    write_wav(tmp_path / "a.wav", Pcm(tone(300, 1.0), 16_000))
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    mic = WavFileMicrophone(
        tmp_path / "a.wav",
        realtime=True,
        leading_silence_ms=0,
        trailing_silence_ms=0,
        clock=lambda: now[0],
        sleep=sleep,
    )
    frames = []
    while (frame := mic.read()) is not None:
        frames.append(frame)
    assert sum(len(f) for f in frames) == 16_000
    assert all(len(f) == 480 for f in frames[:-1])
    assert now[0] == pytest.approx(1.0, abs=0.001)  # paced to the length of the audio
    assert len(sleeps) == len(frames)


def test_wav_microphone_fast_mode_adds_silence_around_speech(tmp_path: Path) -> None:
    write_wav(tmp_path / "a.wav", Pcm(tone(300, 0.5), 16_000))
    mic = WavFileMicrophone(tmp_path / "a.wav", leading_silence_ms=300, trailing_silence_ms=1000)
    total = 0
    while (frame := mic.read()) is not None:
        total += len(frame)
    assert total == 16_000 * 18 // 10
    assert mic.speech_ms == 500


class _BrokenMic(Microphone):
    def __init__(self, result: object) -> None:
        super().__init__()
        self.result = result

    def _read(self, frames: int) -> np.ndarray | None:
        if isinstance(self.result, Exception):
            raise self.result
        return self.result  # type: ignore[return-value]


@pytest.mark.parametrize(
    "result",
    [OSError("device unplugged"), np.zeros(480, np.float32), np.zeros(10_000, np.int16), np.zeros(0, np.int16)],
    ids=["driver-error", "float-samples", "oversized-frame", "empty-frame"],
)
def test_microphone_base_normalises_driver_failures(result: object) -> None:
    with pytest.raises(AudioDeviceError):
        _BrokenMic(result).read()


def test_speaker_stops_within_one_block() -> None:
    speaker = WavFileSpeaker(realtime=True, block_ms=50)
    pcm = Pcm(tone(300, 5.0, rate=22_050), 22_050)
    started = threading.Event()
    result: list[bool] = []

    def play() -> None:
        started.set()
        result.append(speaker.play(pcm))

    thread = threading.Thread(target=play)
    thread.start()
    started.wait(timeout=5)
    while not speaker.blocks:
        threading.Event().wait(0.01)
    speaker.stop()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert result == [False]
    played = speaker.take()
    assert played is not None
    assert played.duration_ms < 4000  # stopped long before the 5 s clip ended
    assert not speaker.playing


def test_speaker_plays_to_the_end_and_saves(tmp_path: Path) -> None:
    speaker = WavFileSpeaker()
    assert speaker.play(Pcm(tone(300, 0.3, rate=22_050), 22_050))
    assert speaker.save(tmp_path / "out.wav") is not None
    assert (tmp_path / "out.wav").stat().st_size > 13_000
    assert speaker.take() is None
