"""Audio in the form every speech model takes: 16 kHz mono int16 PCM.

Reading a WAV file validates it and converts what can be converted (other
sample rates, stereo, 8/24/32-bit samples) and rejects the rest with a clear
:class:`AudioFormatError`. Length is bounded before samples are read, so an
hour of audio is refused at once instead of filling memory.

Only the standard library and numpy: no heavy imports.
"""

from __future__ import annotations

import os
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from edge_models.errors import ModelError

SAMPLE_RATE = 16_000
MAX_SECONDS_DEFAULT = 120.0
MIN_RATE = 8_000
MAX_RATE = 192_000

Int16Array = npt.NDArray[np.int16]


class AudioError(ModelError):
    """Base of audio input errors."""


class AudioFormatError(AudioError):
    """The file is not a WAV this kiosk can read (truncated, compressed, float, ...)."""


class AudioTooLongError(AudioError):
    """The audio is longer than the configured bound."""


@dataclass(frozen=True, slots=True)
class Pcm:
    """Mono signed 16-bit samples at ``rate`` Hz."""

    samples: Int16Array
    rate: int = SAMPLE_RATE

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return len(self.samples) / self.rate

    @property
    def duration_ms(self) -> float:
        """Length in milliseconds."""
        return 1000.0 * len(self.samples) / self.rate

    def to_bytes(self) -> bytes:
        """Little-endian int16 bytes."""
        return self.samples.astype("<i2").tobytes()


def _decode(raw: bytes, width: int) -> npt.NDArray[np.float64]:
    """Interleaved PCM bytes of ``width`` bytes per sample as floats in [-1, 1)."""
    if width == 1:  # unsigned 8-bit
        return (np.frombuffer(raw, dtype=np.uint8).astype(np.float64) - 128.0) / 128.0
    if width == 2:
        return np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0
    if width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        v = np.where(v >= 1 << 23, v - (1 << 24), v)
        return v.astype(np.float64) / float(1 << 23)
    if width == 4:
        return np.frombuffer(raw, dtype="<i4").astype(np.float64) / float(1 << 31)
    raise AudioFormatError(f"{width * 8}-bit samples are not supported (8, 16, 24 or 32-bit PCM)")


def _lowpass(x: npt.NDArray[np.float64], cutoff: float, taps: int = 63) -> npt.NDArray[np.float64]:
    """Windowed-sinc low-pass; ``cutoff`` is a fraction of the sample rate (0 < cutoff < 0.5)."""
    n = np.arange(taps) - (taps - 1) / 2
    h = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hamming(taps)
    h /= h.sum()
    return np.convolve(x, h, mode="same")


def resample(x: npt.NDArray[np.float64], rate: int, target: int = SAMPLE_RATE) -> npt.NDArray[np.float64]:
    """Resample mono floats from ``rate`` to ``target`` Hz (anti-aliased, linear interpolation)."""
    if rate == target or len(x) == 0:
        return x
    if target < rate:
        x = _lowpass(x, 0.45 * target / rate)
    n_out = round(len(x) * target / rate)
    t_out = np.arange(n_out) * (rate / target)
    return np.interp(t_out, np.arange(len(x)), x)


def to_int16(x: npt.NDArray[np.float64]) -> Int16Array:
    """Floats in [-1, 1] to clipped int16."""
    out: Int16Array = np.clip(np.round(x * 32767.0), -32768, 32767).astype(np.int16)
    return out


def convert(samples: npt.NDArray[np.float64], rate: int, channels: int) -> Pcm:
    """Interleaved float samples of any rate and channel count to 16 kHz mono int16."""
    if channels > 1:
        usable = len(samples) - len(samples) % channels
        samples = samples[:usable].reshape(-1, channels).mean(axis=1)
    return Pcm(to_int16(resample(samples, rate)), SAMPLE_RATE)


def read_wav(path: Path, *, max_seconds: float = MAX_SECONDS_DEFAULT) -> Pcm:
    """Read a PCM WAV file as 16 kHz mono int16, converting rate, channels and width.

    Args:
        path: The WAV file.
        max_seconds: Longer audio is refused before its samples are read.

    Raises:
        AudioFormatError: not a readable PCM WAV (missing, truncated, compressed,
            float, no samples, odd rate or channel count).
        AudioTooLongError: longer than ``max_seconds``.
    """
    try:
        with wave.open(str(path), "rb") as wav:
            channels, width, rate, frames = wav.getnchannels(), wav.getsampwidth(), wav.getframerate(), wav.getnframes()
            if not 1 <= channels <= 8:
                raise AudioFormatError(f"{path}: {channels} channels (1 to 8 supported)")
            if not MIN_RATE <= rate <= MAX_RATE:
                raise AudioFormatError(f"{path}: sample rate {rate} Hz outside {MIN_RATE}-{MAX_RATE} Hz")
            limit = int(max_seconds * rate)
            if frames > limit:
                raise AudioTooLongError(f"{path}: {frames / rate:.1f} s of audio, the limit is {max_seconds:.0f} s")
            # The header may lie (a truncated or streamed file): never read past the bound.
            raw = wav.readframes(limit + 1)
    except FileNotFoundError as err:
        raise AudioFormatError(f"{path}: no such file") from err
    except (wave.Error, EOFError, OSError) as err:
        raise AudioFormatError(f"{path}: not a readable PCM WAV file: {str(err) or 'truncated'}") from err
    usable = len(raw) - len(raw) % (width * channels)
    if usable == 0:
        raise AudioFormatError(f"{path}: the file holds no audio samples")
    if usable // (width * channels) > limit:
        raise AudioTooLongError(f"{path}: more than {max_seconds:.0f} s of audio")
    return convert(_decode(raw[:usable], width), rate, channels)


def write_wav(path: Path, pcm: Pcm) -> None:
    """Write mono int16 PCM as a WAV file atomically (temporary file, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            with wave.open(handle, "wb") as wav:
                wav.setnchannels(1)
                wav.setsampwidth(2)
                wav.setframerate(pcm.rate)
                wav.writeframes(pcm.to_bytes())
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def rms_dbfs(samples: Int16Array) -> float:
    """Root-mean-square level in dB relative to full scale (-120 for silence)."""
    if len(samples) == 0:
        return -120.0
    rms = float(np.sqrt(np.mean((samples.astype(np.float64) / 32768.0) ** 2)))
    return max(-120.0, 20.0 * float(np.log10(rms))) if rms > 0 else -120.0
