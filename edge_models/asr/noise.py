"""Branch noise for testing recognisers: babble, a ticket-call chime, and mixing at a set SNR.

- :func:`babble`: several voices talking over each other (other utterances,
  never the one under test), summed with random offsets and levels.
- :func:`chime`: the two-tone "ding-dong" a queue system plays before calling
  a ticket number, synthesised with numpy.
- :func:`mix_at_snr`: speech plus noise scaled so that the speech-to-noise
  power ratio over the utterance is exactly the asked SNR (to 0.1 dB after
  rounding to int16); both are scaled down together if the sum would clip.

All functions are pure and seeded: the same arguments give the same audio.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from edge_models.audio import SAMPLE_RATE, Int16Array

Float = npt.NDArray[np.float64]
PEAK = 32767.0
HEADROOM = 0.95


class NoiseError(ValueError):
    """Mixing was asked for something impossible (silent speech or noise, no sources)."""


def power(x: npt.NDArray[np.generic]) -> float:
    """Mean square of samples (as float)."""
    f = np.asarray(x, dtype=np.float64)
    return float(np.mean(f * f)) if f.size else 0.0


def snr_db(speech: npt.NDArray[np.generic], noise: npt.NDArray[np.generic]) -> float:
    """Speech-to-noise power ratio in dB over the same length."""
    return 10.0 * math.log10(power(speech) / power(noise))


def fit(noise: Float, length: int, offset: int = 0) -> Float:
    """``length`` samples of ``noise`` from ``offset``, looped when it is shorter."""
    if noise.size == 0:
        raise NoiseError("the noise is empty")
    idx = (np.arange(length) + offset) % noise.size
    return np.asarray(noise[idx], dtype=np.float64)


def mix_at_snr(speech: Int16Array, noise: npt.NDArray[np.generic], snr: float, *, offset: int = 0) -> Int16Array:
    """``speech`` with ``noise`` added at ``snr`` dB (power over the speech's length), as int16.

    The noise is looped or cut to the speech's length, from ``offset``. If the
    mix would clip, speech and noise are scaled down together (the SNR stays).

    Raises:
        NoiseError: silent speech or silent noise.
    """
    s = speech.astype(np.float64)
    n = fit(np.asarray(noise, dtype=np.float64), s.size, offset)
    ps, pn = power(s), power(n)
    if ps <= 0 or pn <= 0:
        raise NoiseError("speech and noise must both have energy")
    n = n * math.sqrt(ps / (pn * 10.0 ** (snr / 10.0)))
    mixed = s + n
    peak = float(np.max(np.abs(mixed)))
    if peak > PEAK * HEADROOM:
        mixed *= PEAK * HEADROOM / peak
    out: Int16Array = np.round(mixed).astype(np.int16)
    return out


def chime(
    *,
    rate: int = SAMPLE_RATE,
    tones: Sequence[float] = (784.0, 659.3),
    tone_s: float = 0.6,
    gap_s: float = 0.05,
    level: float = 0.3,
) -> Float:
    """A ticket-call "ding-dong": struck tones with a few harmonics and an exponential decay."""
    t = np.arange(int(tone_s * rate)) / rate
    parts: list[Float] = []
    for f in tones:
        wave = sum(a * np.sin(2 * np.pi * f * k * t) for k, a in ((1, 1.0), (2, 0.4), (3, 0.15)))
        envelope = np.exp(-t * 5.0) * np.minimum(1.0, t / 0.005)
        parts += [np.asarray(wave * envelope, dtype=np.float64), np.zeros(int(gap_s * rate))]
    out = np.concatenate(parts)
    return out * (level * PEAK / float(np.max(np.abs(out))))


def babble(
    sources: Sequence[Int16Array], seconds: float, *, voices: int = 4, seed: int = 0, rate: int = SAMPLE_RATE
) -> Float:
    """``seconds`` of several people talking at once, made from ``sources`` (other utterances).

    Each of ``voices`` tracks strings randomly chosen sources end to end with short pauses;
    the tracks are summed at random levels within 6 dB.

    Raises:
        NoiseError: no sources with sound.
    """
    usable = [s.astype(np.float64) for s in sources if s.size and power(s) > 0]
    if not usable:
        raise NoiseError("babble needs at least one utterance with sound")
    rng = np.random.default_rng(seed)
    length = int(seconds * rate)
    total = np.zeros(length)
    for _ in range(voices):
        track = np.zeros(length)
        clip = usable[int(rng.integers(len(usable)))]
        pos = -int(rng.integers(0, clip.size))  # each voice is already talking when the track starts
        while pos < length:
            clip = clip / math.sqrt(power(clip))
            end = min(length, pos + clip.size)
            track[max(0, pos) : end] += clip[max(0, -pos) : end - pos]
            pos = end + int(rng.uniform(0.05, 0.3) * rate)
            clip = usable[int(rng.integers(len(usable)))]
        total += track * 10.0 ** (rng.uniform(-6.0, 0.0) / 20.0)
    return total


def branch_noise(babble_track: Float, chime_track: Float, *, every_s: float = 4.0, rate: int = SAMPLE_RATE) -> Float:
    """Babble with the ticket-call chime every ``every_s`` seconds, the chime 6 dB above the babble's level."""
    out = babble_track.copy()
    gain = math.sqrt(power(babble_track) / power(chime_track)) * 10.0 ** (6.0 / 20.0)
    step = int(every_s * rate)
    for start in range(int(0.5 * rate), out.size, step):
        end = min(out.size, start + chime_track.size)
        out[start:end] += chime_track[: end - start] * gain
    return out
