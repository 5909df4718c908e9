"""Speech recognition for real: whisper (English, Mandarin), vosk (Korean, grammar mode), `kiosk asr`.

Audio is made at test time by espeak-ng. The recognisers run on it and the
words that must be recognised are asserted.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bundles.manifest import read_manifest, write_manifest
from edge_models.asr import (
    AsrEngine,
    AsrModels,
    AsrUnsupportedError,
    compile_phrases,
    join_parts,
    load_asr_bundle,
)
from edge_models.audio import AudioTooLongError, Pcm, read_wav
from edge_models.errors import ModelCorruptError, ModelMissingError
from tests.voice_support import EN_RATE, KO_PHRASES, ZH_CARD, voice_dir, voice_state, wav_header, write_raw_wav

KIOSK = Path(sys.executable).parent / "kiosk"


@pytest.fixture(scope="module")
def audio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return voice_dir(tmp_path_factory)


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return voice_state(tmp_path_factory)


@pytest.fixture(scope="module")
def models(state: Path) -> AsrModels:
    return AsrModels(state, build_defaults=False)


@pytest.fixture(scope="module")
def whisper(models: AsrModels) -> AsrEngine:
    return models.engine_for("en")


@pytest.fixture(scope="module")
def vosk_ko(models: AsrModels) -> AsrEngine:
    return models.engine_for("ko", grammar=True)


def test_default_bundles_are_built_verified_and_active(state: Path) -> None:
    for name, kind, engine in (("asr-whisper", "asr-multi", "faster-whisper"), ("asr-ko", "asr-ko", "vosk")):
        manifest = read_manifest(state / "active" / name)
        assert manifest.kind == kind
        assert manifest.origin == "seed"
        assert manifest.source["engine"] == engine
    whisper_bin = read_manifest(state / "active" / "asr-whisper").file("model/model.bin")
    assert whisper_bin.size == 2 * 72_608_766  # the two parts joined
    assert not list((state / "bundles" / "asr-whisper").glob(".staging-*"))


def test_whisper_recognises_english(whisper: AsrEngine, audio: Path) -> None:
    t = whisper.transcribe(read_wav(audio / "en-rate.wav"), "en")
    words = {w.word.strip(".,?!").lower() for w in t.words}
    assert set(EN_RATE[1]) <= words, t.text
    assert t.engine == "faster-whisper"
    assert t.model == "asr-whisper 1.0.0"
    assert t.mode == "open"
    assert t.confidence > 0.5
    assert all(0 <= w.start_s <= w.end_s <= t.audio_s + 0.5 for w in t.words)
    assert t.rtf > 0


def test_whisper_recognises_mandarin_in_simplified_characters(whisper: AsrEngine, audio: Path) -> None:
    t = whisper.transcribe(read_wav(audio / "zh-card.wav"), "zh")
    assert all(word in t.text for word in ZH_CARD[1]), t.text
    assert "銀" not in t.text  # traditional output is normalised


def test_whisper_hot_words_and_prompt_are_passed_and_output_stays_bounded(state: Path, audio: Path) -> None:
    from edge_models.asr.whisper_engine import MAX_TOKENS_PER_S, WhisperEngine

    engine = WhisperEngine(
        state / "active" / "asr-whisper" / "model",
        hint_languages=("zh",),
        prompts={"zh": "以下是银行网点的普通话对话。"},
    )
    pcm = read_wav(audio / "zh-card.wav")
    t = engine.transcribe(pcm, "zh", hints=("银行卡挂失", "取号排队", "Queue ticket"))
    assert t.lang == "zh"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in t.text), t.text
    assert "銀" not in t.text
    assert len(t.text) <= MAX_TOKENS_PER_S * pcm.duration_s + 8  # at most one character per token
    assert engine.transcribe(pcm, "zh").text  # and without hints


def test_vosk_grammar_mode_recognises_korean(vosk_ko: AsrEngine, audio: Path) -> None:
    grammar = compile_phrases(KO_PHRASES, "ko")
    account = vosk_ko.transcribe(read_wav(audio / "ko-account.wav"), "ko", grammar)
    assert account.text == "계좌 개설"
    assert account.engine == "vosk"
    assert account.mode == "grammar"
    assert [w.word for w in account.words] == ["계좌", "개설"]
    ticket = vosk_ko.transcribe(read_wav(audio / "ko-ticket.wav"), "ko", grammar, hints=("안녕하세요",))  # ignored
    assert ticket.text.startswith("번호표 주세요")


def test_two_concurrent_requests_run_off_the_event_loop(vosk_ko: AsrEngine, audio: Path) -> None:
    grammar = compile_phrases(KO_PHRASES, "ko")
    pcm = read_wav(audio / "ko-account.wav")

    async def both() -> list[str]:
        jobs = [vosk_ko.transcribe_async(pcm, "ko", grammar) for _ in range(2)]
        return [t.text for t in await asyncio.wait_for(asyncio.gather(*jobs), timeout=60)]

    assert asyncio.run(both()) == ["계좌 개설", "계좌 개설"]


def test_vosk_streams_partials_then_a_final(vosk_ko: AsrEngine, audio: Path) -> None:
    pcm = read_wav(audio / "ko-account.wav")
    stream = vosk_ko.stream("ko")  # open vocabulary
    partials = [stream.accept(pcm.samples[i : i + 1600]) for i in range(0, len(pcm.samples), 1600)]
    final = stream.finish()
    assert any(p is not None and not p.final for p in partials)
    assert final.final
    assert final.mode == "open"
    assert final.text
    with pytest.raises(ValueError, match="finished"):
        stream.finish()


def test_silence_gives_an_empty_transcript_with_no_confidence(whisper: AsrEngine, vosk_ko: AsrEngine) -> None:
    silence = Pcm(np.zeros(32_000, np.int16))
    for engine, lang in ((whisper, "en"), (vosk_ko, "ko")):
        t = engine.transcribe(silence, lang)
        assert t.text == ""
        assert t.confidence == 0.0


def test_white_noise_is_bounded_and_not_confident(whisper: AsrEngine) -> None:
    noise = (np.random.default_rng(1).normal(0, 0.1, 48_000) * 32767).astype(np.int16)
    t = whisper.transcribe(Pcm(noise), "en")
    assert t.confidence < 0.5 or t.text == ""


def test_streams_are_bounded(whisper: AsrEngine) -> None:
    stream = whisper.stream("en", max_seconds=1)
    stream.accept(np.zeros(16_000, np.int16))
    with pytest.raises(AudioTooLongError):
        stream.accept(np.zeros(160, np.int16))
    with pytest.raises(ValueError, match="int16"):
        whisper.stream("en").accept(np.zeros(100, np.float32))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("lang", "grammar", "message"),
    [("fr", False, "no installed ASR model"), ("en", True, "grammar mode for 'en'")],
    ids=["unknown-language", "grammar-without-vosk-model"],
)
def test_unsupported_requests_are_clear(models: AsrModels, lang: str, grammar: bool, message: str) -> None:
    with pytest.raises(AsrUnsupportedError, match=message):
        models.engine_for(lang, grammar=grammar)


def test_broken_bundles_are_rejected(tmp_path: Path, state: Path) -> None:
    bundle = tmp_path / "asr-xx"
    (bundle / "model" / "conf").mkdir(parents=True)
    (bundle / "model" / "conf" / "model.conf").write_text("--x\n")
    write_manifest(bundle, name="asr-xx", kind="asr-xx", version="1", source={"engine": "vosk", "languages": ["xx"]})
    with pytest.raises(ModelMissingError, match=r"lacks am/final\.mdl"):
        load_asr_bundle(bundle)
    (bundle / "model" / "conf" / "model.conf").write_text("--y\n")  # same size, other bytes
    with pytest.raises(ModelCorruptError, match="sha256"):
        load_asr_bundle(bundle)
    write_manifest(bundle, name="asr-xx", kind="asr-xx", version="1", source={"engine": "kaldi-9000"})
    with pytest.raises(ModelCorruptError, match="unknown ASR engine"):
        load_asr_bundle(bundle)
    with pytest.raises(ModelMissingError):
        load_asr_bundle(tmp_path / "nothing")


def test_join_parts_is_atomic_and_checks_size(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"x" * 1000)
    b.write_bytes(b"y" * 500)
    assert join_parts([a, b], tmp_path / "model.bin") == 1500
    assert (tmp_path / "model.bin").read_bytes() == b"x" * 1000 + b"y" * 500
    with pytest.raises(ModelMissingError):
        join_parts([a, tmp_path / "missing"], tmp_path / "other.bin")
    assert not (tmp_path / "other.bin").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "model.bin"]


# -- the command ---------------------------------------------------------------


def _kiosk(args: list[str], state: Path) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "KIOSK_STATE_DIR": str(state)}
    return subprocess.run([str(KIOSK), *args], capture_output=True, env=env, timeout=180, check=False)


def test_kiosk_asr_prints_words_engine_model_and_rtf(state: Path, audio: Path, tmp_path: Path) -> None:
    # A stereo 44.1 kHz copy: converted on the way in.
    mono = read_wav(audio / "en-rate.wav").samples
    up = np.interp(np.arange(int(len(mono) * 44_100 / 16_000)) * 16_000 / 44_100, np.arange(len(mono)), mono)
    stereo = np.repeat(up.astype(np.int16), 2)
    path = write_raw_wav(tmp_path / "stereo.wav", stereo, 44_100, 2, 2)
    done = _kiosk(["asr", str(path), "--lang", "en"], state)
    assert done.returncode == 0, done.stderr.decode()
    result = json.loads(done.stdout)
    assert {"text", "words", "engine", "model", "rtf", "confidence", "lang", "mode", "audio_s"} <= set(result)
    assert "dollar" in result["text"].lower()
    assert {"word", "start", "end", "confidence"} == set(result["words"][0])
    assert result["engine"] == "faster-whisper"
    assert result["rtf"] > 0


def test_kiosk_asr_grammar_mode_with_a_phrase_file(state: Path, audio: Path, tmp_path: Path) -> None:
    phrases = tmp_path / "ko.txt"
    phrases.write_text("\n".join(KO_PHRASES), encoding="utf-8")
    done = _kiosk(["asr", str(audio / "ko-account.wav"), "--lang", "ko", "--grammar", "--phrases", str(phrases)], state)
    assert done.returncode == 0, done.stderr.decode()
    result = json.loads(done.stdout)
    assert result["text"] == "계좌 개설"
    assert result["mode"] == "grammar"
    assert result["engine"] == "vosk"


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", [], b"audio rejected"),
        (wav_header(16_000, 1, 2, 3600 * 32_000), [], b"the limit is"),
        (wav_header(16_000, 1, 2, 64) + b"\x00" * 64, ["--lang", "ko", "--grammar"], b"no grammar phrases for 'ko'"),
        (wav_header(16_000, 1, 2, 64) + b"\x00" * 64, ["--lang", "zh", "--grammar"], b"grammar mode for 'zh'"),
    ],
    ids=["truncated-header", "an-hour", "no-phrases", "no-vosk-model-for-zh"],
)
def test_kiosk_asr_errors(state: Path, tmp_path: Path, content: bytes, args: list[str], message: bytes) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    done = _kiosk(["asr", str(path), *args], state)
    assert done.returncode == 1
    assert message in done.stderr
    assert done.stdout == b""


def test_missing_default_package_leaves_no_half_bundle(tmp_path: Path, state: Path) -> None:
    # A bundle directory copied without its model file fails verification; the good one stays active.
    broken = tmp_path / "copy"
    shutil.copytree(state / "active" / "asr-ko", broken, ignore=shutil.ignore_patterns("*.fst"))
    with pytest.raises(ModelMissingError, match="missing"):
        load_asr_bundle(broken)
    assert (state / "active" / "asr-ko" / "manifest.json").is_file()
