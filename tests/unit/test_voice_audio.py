"""WAV reading: conversion to 16 kHz mono int16, clear rejections, bounded length."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge_models.audio import (
    SAMPLE_RATE,
    AudioFormatError,
    AudioTooLongError,
    Pcm,
    read_wav,
    resample,
    rms_dbfs,
    write_wav,
)
from tests.voice_support import tone, wav_header, write_raw_wav


def _samples(width: int, n: int, channels: int) -> np.ndarray:
    wave16 = tone(440, n / 16_000)
    mono = {
        1: (wave16.astype(np.int32) // 256 + 128).astype(np.uint8),
        2: wave16,
        4: wave16.astype(np.int32) << 16,
    }[width]
    return np.repeat(mono, channels)


@pytest.mark.parametrize(
    ("rate", "channels", "width"),
    [
        (16_000, 1, 2),
        (44_100, 1, 2),
        (8_000, 1, 2),
        (22_050, 2, 2),
        (16_000, 1, 1),
        (48_000, 2, 4),
    ],
    ids=["16k-mono-16bit", "44k1-resampled", "8k-upsampled", "stereo-downmixed", "8bit-unsigned", "32bit-stereo-48k"],
)
def test_converts_to_16k_mono_int16(tmp_path: Path, rate: int, channels: int, width: int) -> None:
    n = rate // 2  # half a second
    path = write_raw_wav(tmp_path / "in.wav", _samples(width, n, channels), rate, channels, width)
    pcm = read_wav(path)
    assert pcm.rate == SAMPLE_RATE
    assert pcm.samples.dtype == np.int16
    assert pcm.samples.ndim == 1
    assert pcm.duration_s == pytest.approx(0.5, abs=0.01)
    assert -15 < rms_dbfs(pcm.samples) < -10  # a 0.3-amplitude tone is about -13.5 dBFS


def test_24bit_samples_decode(tmp_path: Path) -> None:
    v = (tone(300, 0.25).astype(np.int32) << 8).astype("<i4")
    raw = v.view(np.uint8).reshape(-1, 4)[:, :3].copy()
    path = tmp_path / "24.wav"
    path.write_bytes(wav_header(16_000, 1, 3, raw.size) + raw.tobytes())
    pcm = read_wav(path)
    assert np.abs(pcm.samples.astype(np.int32) - tone(300, 0.25).astype(np.int32)).max() <= 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a readable PCM WAV"),
        (b"RIFF\x10\x00\x00\x00WAVEfmt ", "not a readable PCM WAV"),
        (b"ID3\x03\x00 an mp3 file" * 10, "not a readable PCM WAV"),
        (wav_header(16_000, 1, 2, 0), "no audio samples"),
        (wav_header(16_000, 1, 4, 64, fmt=3) + b"\x00" * 64, "not a readable PCM WAV"),
        (wav_header(4_000, 1, 2, 64) + b"\x00" * 64, "sample rate 4000 Hz"),
    ],
    ids=["empty-file", "truncated-header", "not-wav", "no-samples", "float-samples", "rate-too-low"],
)
def test_rejects_unreadable_audio(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(AudioFormatError, match=message):
        read_wav(path)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AudioFormatError, match="no such file"):
        read_wav(tmp_path / "nope.wav")


def test_an_hour_of_audio_is_refused_from_the_header(tmp_path: Path) -> None:
    # The header declares an hour; only a second follows. Refused before reading samples.
    path = tmp_path / "hour.wav"
    path.write_bytes(wav_header(16_000, 1, 2, 3600 * 16_000 * 2) + tone(440, 1.0).tobytes())
    with pytest.raises(AudioTooLongError, match=r"3600\.0 s of audio"):
        read_wav(path, max_seconds=120)


def test_truncated_data_reads_what_is_there(tmp_path: Path) -> None:
    path = tmp_path / "cut.wav"
    path.write_bytes(wav_header(16_000, 1, 2, 32_000) + tone(440, 0.5).tobytes())  # says 1 s, holds 0.5 s
    assert read_wav(path).duration_s == pytest.approx(0.5, abs=0.001)


def test_silence_is_valid_audio(tmp_path: Path) -> None:
    path = write_raw_wav(tmp_path / "s.wav", np.zeros(16_000, np.int16), 16_000, 1, 2)
    pcm = read_wav(path)
    assert rms_dbfs(pcm.samples) == -120.0


def test_write_then_read_round_trip(tmp_path: Path) -> None:
    pcm = Pcm(tone(500, 0.3), 16_000)
    write_wav(tmp_path / "out" / "x.wav", pcm)
    back = read_wav(tmp_path / "out" / "x.wav")
    assert np.array_equal(back.samples, pcm.samples)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["x.wav"]  # no temporary file left


def test_resampling_keeps_a_tone_and_drops_what_cannot_be_represented() -> None:
    rate = 48_000
    t = np.arange(rate) / rate
    low = resample(np.sin(2 * np.pi * 1000 * t), rate)
    high = resample(np.sin(2 * np.pi * 12_000 * t), rate)  # above the 8 kHz Nyquist of 16 kHz audio
    assert len(low) == 16_000
    assert np.sqrt(np.mean(low**2)) == pytest.approx(np.sqrt(0.5), rel=0.05)
    assert np.sqrt(np.mean(high**2)) < 0.1
