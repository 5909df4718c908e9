"""Full voice turns for real: WAV in -> endpointing -> whisper -> dialogue -> espeak-ng reply WAV."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edge_models.audio import Pcm, read_wav, write_wav
from kiosk.config import DEFAULT_POLICY_DIR
from tests.voice_support import EN_RATE, ZH_CARD, speak, voice_dir, voice_state

KIOSK = Path(sys.executable).parent / "kiosk"


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory, nlu_bundle: Path) -> Path:
    from kiosk.assembly import Health, provision
    from kiosk.config import Settings

    state = voice_state(tmp_path_factory)
    provision(Settings(state_dir=state, seed_dirs=(DEFAULT_POLICY_DIR, nlu_bundle)), Health())
    return state


def test_kiosk_chat_voice_runs_turns_from_a_folder(state: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    audio = voice_dir(tmp_path_factory)
    turns = tmp_path_factory.mktemp("turns")
    (turns / "1-rate.en.wav").write_bytes((audio / "en-rate.wav").read_bytes())
    (turns / "2-card.zh.wav").write_bytes((audio / "zh-card.wav").read_bytes())
    write_wav(turns / "3-silence.en.wav", Pcm(np.zeros(32_000, np.int16)))
    (turns / "4-broken.wav").write_bytes(b"RIFF\x00\x00")
    write_wav(turns / "5-mumble.en.wav", speak("mm hmm mm", "en", 200))
    (turns / "notes.txt").write_text("not audio")
    out = turns / "replies"
    env = {**os.environ, "KIOSK_STATE_DIR": str(state)}
    done = subprocess.run(
        [str(KIOSK), "chat", "--voice", str(turns), "--voice-out", str(out)],
        capture_output=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    rate, card, silence, broken, mumble = [json.loads(line) for line in done.stdout.decode().splitlines()]

    assert set(EN_RATE[1]) <= set(rate["heard"].lower().strip("?").split())
    assert (rate["intent"], rate["action"], rate["lang"]) == ("exchange_rate", "answer", "en")
    assert "709.52" in rate["reply"]  # quoted from the policy's rate table
    assert rate["asr_engine"] == "faster-whisper"
    assert rate["listen_end"] == "speech_end"
    assert set(rate["timings_ms"]) == {"asr", "decide", "tts_first_audio", "end_of_speech_to_audio"}
    assert read_wav(Path(rate["out"]), max_seconds=60).duration_s > 2

    assert ZH_CARD[1][0] in card["heard"]
    assert card["lang"] == "zh"
    assert card["intent"] == "card_lost" or card["action"] == "clarify"

    assert silence["heard"] == ""
    assert silence["action"] == "clarify"
    assert silence["asr_confidence"] == 0.0
    assert "audio rejected" in broken["error"]
    assert mumble["action"] in ("clarify", "answer")
    if mumble["asr_confidence"] < 0.5:  # the policy's asr_min_confidence: asked to repeat, not guessed
        assert mumble["action"] == "clarify"
        assert mumble["stage"] == "fallback"

    assert sorted(p.name for p in out.iterdir()) == [
        "001-1-rate.en-reply.wav",
        "002-2-card.zh-reply.wav",
        "003-3-silence.en-reply.wav",
        "005-5-mumble.en-reply.wav",
    ]
    with sqlite3.connect(state / "kiosk.db") as db:
        sources = {row[0] for row in db.execute("SELECT source FROM turns WHERE session_id = 'voice'")}
    assert sources == {"voice"}


def test_kiosk_chat_voice_rejects_a_missing_path(state: Path, tmp_path: Path) -> None:
    env = {**os.environ, "KIOSK_STATE_DIR": str(state)}
    done = subprocess.run(
        [str(KIOSK), "chat", "--voice", str(tmp_path / "nope")], capture_output=True, env=env, timeout=60, check=False
    )
    assert done.returncode == 1
    assert b"does not exist" in done.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    done = subprocess.run(
        [str(KIOSK), "chat", "--voice", str(empty)], capture_output=True, env=env, timeout=60, check=False
    )
    assert done.returncode == 1
    assert b"holds no .wav files" in done.stderr
