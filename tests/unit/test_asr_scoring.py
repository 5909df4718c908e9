"""Recogniser scoring: the noise mixer's SNR, babble and chime, error rates, transcript sets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge_models.asr.evaluation import EvalSetError, char_errors, english_words, read_set, word_errors
from edge_models.asr.noise import NoiseError, babble, branch_noise, chime, mix_at_snr, power, snr_db
from edge_models.audio import Int16Array, Pcm, write_wav


def tone(freq: float, seconds: float, amplitude: float) -> Int16Array:
    t = np.arange(int(seconds * 16_000)) / 16_000
    wave = amplitude * np.sin(2 * np.pi * freq * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    out: Int16Array = np.round(wave).astype(np.int16)
    return out


@pytest.mark.parametrize("snr", [20.0, 10.0, 5.0, 0.0])
@pytest.mark.parametrize("amplitude", [3000.0, 25000.0])  # loud speech: the mix is scaled to avoid clipping
def test_the_mix_has_the_asked_snr_to_a_tenth_of_a_db(snr: float, amplitude: float) -> None:
    speech = tone(220.0, 2.0, amplitude)
    noise = np.random.default_rng(1).normal(0, 1000, 9_000)  # shorter: looped
    mixed = mix_at_snr(speech, noise, snr)
    assert mixed.dtype == np.int16
    assert np.max(np.abs(mixed.astype(np.int32))) < 32767
    # Recover the parts: the mix is (speech + noise) * g with one common gain g.
    g = float(np.dot(mixed.astype(np.float64), speech) / np.dot(speech.astype(np.float64), speech))
    residual = mixed.astype(np.float64) - g * speech  # the noise part (noise is uncorrelated with the tone)
    assert abs(snr_db(g * speech.astype(np.float64), residual) - snr) < 0.1


def test_silent_speech_or_noise_is_refused() -> None:
    with pytest.raises(NoiseError):
        mix_at_snr(np.zeros(100, np.int16), np.ones(100), 10.0)
    with pytest.raises(NoiseError):
        mix_at_snr(tone(220, 0.1, 1000), np.zeros(100), 10.0)
    with pytest.raises(NoiseError):
        babble([np.zeros(10, np.int16)], 1.0)


def test_babble_is_seeded_and_overlaps_several_voices() -> None:
    sources = [tone(f, 0.8, 4000) for f in (180.0, 240.0, 300.0)]
    a, b = babble(sources, 3.0, seed=3), babble(sources, 3.0, seed=3)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, babble(sources, 3.0, seed=4))
    assert a.size == 48_000
    assert np.mean(np.abs(a) > 0) > 0.8  # voices over each other: rarely silent


def test_the_chime_rings_in_the_branch_noise() -> None:
    ding = chime()
    assert 1.0 < ding.size / 16_000 < 1.5
    spectrum = np.abs(np.fft.rfft(ding))
    peak_hz = np.argmax(spectrum) * 16_000 / ding.size
    assert 600 < peak_hz < 800
    quiet = np.random.default_rng(0).normal(0, 100, 16_000 * 5)
    noisy = branch_noise(quiet, ding, every_s=2.0)
    assert power(noisy[8_000:16_000]) > 4 * power(quiet)  # 6 dB over the babble, loudest as it is struck
    assert np.array_equal(noisy[30_000:39_000], quiet[30_000:39_000])  # between two calls: babble only


def test_english_words_are_normalised_before_counting() -> None:
    assert english_words("Mr. John's 10 of Clubs!") == ["mister", "john's", "ten", "of", "clubs"]
    assert word_errors("ten of clubs", "10 of cloves.") == (1, 3)
    assert word_errors("he was not an ill disposed young man", "He was not an ill-disposed young man.") == (0, 8)


def test_mandarin_characters_are_simplified_before_counting() -> None:
    assert char_errors("我的银行卡丢了", "我的銀行卡丟了。") == (0, 7)
    assert char_errors("我要挂失", "我要挖死") == (2, 4)


def test_a_transcript_set_is_read_and_checked(tmp_path: Path) -> None:
    write_wav(tmp_path / "001.wav", Pcm(tone(200, 0.5, 3000)))
    (tmp_path / "transcripts.tsv").write_text("001.wav\t我要取号\n\n", encoding="utf-8")
    [sample] = read_set(tmp_path, "zh")
    assert (sample.path.name, sample.text, sample.lang) == ("001.wav", "我要取号", "zh")
    (tmp_path / "transcripts.tsv").write_text("002.wav\t我要取号\n", encoding="utf-8")
    with pytest.raises(EvalSetError, match="does not exist"):
        read_set(tmp_path, "zh")
    (tmp_path / "transcripts.tsv").write_text("001.wav 我要取号\n", encoding="utf-8")
    with pytest.raises(EvalSetError, match="file<TAB>text"):
        read_set(tmp_path, "zh")
    with pytest.raises(EvalSetError, match="no transcripts"):
        read_set(tmp_path / "nope", "zh")
