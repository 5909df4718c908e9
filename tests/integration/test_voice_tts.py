"""Speech synthesis for real: the bundled espeak-ng 1.52 through ctypes, and `kiosk say`."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edge_models.audio import read_wav, rms_dbfs
from edge_models.tts import EspeakSynthesizer, TtsError, TtsSettings

KIOSK = Path(sys.executable).parent / "kiosk"


@pytest.fixture(scope="module")
def synth() -> EspeakSynthesizer:
    return EspeakSynthesizer()


def test_it_is_the_bundled_espeak_ng_1_52(synth: EspeakSynthesizer) -> None:
    assert synth.version.startswith("1.52")
    assert synth.sample_rate == 22_050


@pytest.mark.parametrize(
    ("lang", "text", "phonemes"),
    [
        ("en", "Welcome to the bank.", {"w", "b"}),
        ("zh", "您好，欢迎光临。", {"n", "w"}),
        ("yue", "你好，欢迎。", {"n", "h"}),
    ],
    ids=["english", "mandarin", "cantonese"],
)
def test_speech_with_a_timeline_that_covers_it(
    synth: EspeakSynthesizer, lang: str, text: str, phonemes: set[str]
) -> None:
    speech = synth.synthesize(text, lang)
    assert 0.5 < speech.pcm.duration_s < 5
    assert rms_dbfs(speech.pcm.samples) > -40
    cues = speech.timeline.cues
    assert speech.timeline.duration_ms == pytest.approx(speech.pcm.duration_ms)
    assert cues
    assert cues[-1].end_ms <= speech.timeline.duration_ms
    assert all(a.end_ms <= b.start_ms for a, b in itertools.pairwise(cues))
    assert phonemes <= {c.phoneme.strip("ˈˌ")[:1] for c in cues}
    assert len({c.viseme for c in cues}) >= 3


def test_mandarin_is_read_as_mandarin_not_as_letters(synth: EspeakSynthesizer) -> None:
    # Debian's 1.51 reads 银行 as English "yin two hang two" (jɪ5ntˈuː5 zɪ5ŋtˈuː5).
    speech = synth.synthesize("银行", "zh")
    phonemes = [c.phoneme for c in speech.timeline.cues if c.phoneme]
    assert "tˈuː" not in phonemes
    assert len(phonemes) <= 6
    assert speech.pcm.duration_s < 1.5


def test_the_steady_mandarin_voice_speaks_a_text_the_same_whatever_came_before(synth: EspeakSynthesizer) -> None:
    steady = EspeakSynthesizer(steady=True)
    first = steady.synthesize("英镑", "zh")
    synth.synthesize("我的银行卡丢了，怎么办？", "zh")  # the kiosk's own voice moves espeak-ng's flutter along
    synth.synthesize("What is the dollar rate today?", "en")
    again = steady.synthesize("英镑", "zh")
    assert np.array_equal(first.pcm.samples, again.pcm.samples)
    assert {c.phoneme for c in first.timeline.cues} == {c.phoneme for c in again.timeline.cues}
    before = synth.synthesize("英镑", "zh").pcm.samples
    synth.synthesize("今天天气不错", "zh")
    after = synth.synthesize("英镑", "zh").pcm.samples
    assert not np.array_equal(before, after)  # why it exists: the usual voice flutters on across texts
    assert steady.synthesize("hello", "en").pcm.duration_s > 0.2  # no steady English voice: the usual one


def test_the_steady_voice_is_read_from_a_short_copy_when_its_path_is_too_long_for_espeak_ng(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from edge_models.tts import espeak

    installed = tmp_path / "Opt" / ("kiosk-" * 8) / "steady" / "cmn"  # long, and with a capital letter
    installed.parent.mkdir(parents=True)
    installed.write_bytes(espeak.STEADY_VOICES["zh"].read_bytes())
    assert not espeak.voice_path_fits(installed)
    monkeypatch.setitem(espeak.STEADY_VOICES, "zh", installed)
    espeak.steady_voice_path.cache_clear()
    try:
        copy = espeak.steady_voice_path("zh")
        assert copy != installed
        assert espeak.voice_path_fits(copy)
        assert copy.read_bytes() == installed.read_bytes()
        first = EspeakSynthesizer(steady=True).synthesize("英镑", "zh")
        EspeakSynthesizer().synthesize("我的银行卡丢了", "zh")
        assert np.array_equal(first.pcm.samples, EspeakSynthesizer(steady=True).synthesize("英镑", "zh").pcm.samples)
    finally:
        espeak.steady_voice_path.cache_clear()
    with pytest.raises(TtsError, match="no steady voice"):
        espeak.steady_voice_path("ko")


def test_slower_rate_is_longer_and_sentences_come_one_by_one() -> None:
    text = "Please take your ticket. Wait for your number. Thank you."
    fast = EspeakSynthesizer(TtsSettings(rate_wpm=200)).synthesize(text, "en")
    slow = EspeakSynthesizer(TtsSettings(rate_wpm=110)).synthesize(text, "en")
    assert slow.pcm.duration_s > fast.pcm.duration_s * 1.4
    parts = list(EspeakSynthesizer().sentences(text, "en"))
    assert [p.text for p in parts] == ["Please take your ticket.", "Wait for your number.", "Thank you."]


@pytest.mark.parametrize(
    ("text", "lang", "message"),
    [("", "en", "empty"), ("hello", "fr", "no voice"), ("x" * 3000, "en", "longer than"), ("\x00\x1b", "en", "empty")],
    ids=["empty", "unknown-language", "too-long", "control-characters"],
)
def test_bad_requests_are_clear_errors(synth: EspeakSynthesizer, text: str, lang: str, message: str) -> None:
    with pytest.raises(TtsError, match=message):
        synth.synthesize(text, lang)


def test_kiosk_say_writes_a_wav_and_prints_the_timeline(tmp_path: Path) -> None:
    out = tmp_path / "hello.wav"
    done = subprocess.run(
        [str(KIOSK), "say", "您好，请问办理什么业务？", "--lang", "zh", "--out", str(out), "--rate", "140"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    result = json.loads(done.stdout)
    assert result["out"] == str(out)
    assert result["lang"] == "zh"
    assert result["sample_rate"] == 22_050
    assert read_wav(out).duration_ms == pytest.approx(result["duration_ms"], abs=1)
    assert {"start_ms", "end_ms", "viseme", "phoneme"} == set(result["visemes"][0])
    bad = subprocess.run(
        [str(KIOSK), "say", "hi", "--lang", "fr", "--out", str(tmp_path / "x.wav")],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 1
    assert b"--lang must be one of" in bad.stderr
    assert not (tmp_path / "x.wav").exists()
