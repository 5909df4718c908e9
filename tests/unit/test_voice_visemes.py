"""Phonemes to visemes, the timeline, sentence splitting, and the speech messages."""

from __future__ import annotations

import pytest

from edge_models.speech import RecognizedWord, Transcript, VisemeTimeline
from edge_models.tts import PhonemeEvent, split_sentences, timeline, viseme_for


@pytest.mark.parametrize(
    ("phoneme", "viseme"),
    [
        ("m", "A"),
        ("b", "A"),
        ("p", "A"),
        ("f", "G"),
        ("v", "G"),
        ("l", "H"),
        ("w", "F"),
        ("ˈuː", "F"),
        ("ˈoʊ", "E"),
        ("ɔ", "E"),
        ("ˈɑu", "D"),
        ("a˥", "D"),
        ("ə", "C"),
        ("i", "C"),
        ("tɕh", "B"),
        ("ʂ", "B"),
        ("k", "B"),
        ("", "X"),
        ("ˈ", "X"),
    ],
    ids=lambda v: v or "empty",
)
def test_viseme_for(phoneme: str, viseme: str) -> None:
    assert viseme_for(phoneme) == viseme


def test_timeline_holds_each_phoneme_until_the_next_and_merges_repeats() -> None:
    events = [PhonemeEvent(0, "m"), PhonemeEvent(80, "a"), PhonemeEvent(200, "ɑ"), PhonemeEvent(300, "")]
    tl = timeline(events, 500)
    assert [(c.start_ms, c.end_ms, c.viseme) for c in tl.cues] == [(0, 80, "A"), (80, 300, "D"), (300, 500, "X")]
    assert tl.at(100) == "D"
    assert tl.at(600) == "X"


def test_timeline_drops_cues_too_short_to_show_and_events_outside_the_audio() -> None:
    events = [PhonemeEvent(0, "b"), PhonemeEvent(100, "t"), PhonemeEvent(105, "o"), PhonemeEvent(900, "m")]
    tl = timeline(events, 400)
    assert [c.viseme for c in tl.cues] == ["A", "E"]
    assert tl.cues[-1].end_ms == 400


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("Hello. How are you? Fine!", ["Hello.", "How are you?", "Fine!"]),
        ("你好。请问需要什么帮助？谢谢", ["你好。", "请问需要什么帮助？", "谢谢"]),
        ("Rate is 7.12 today.", ["Rate is 7.12 today."]),
        ("", []),
    ],
    ids=["english", "chinese", "decimal-number-kept", "empty"],
)
def test_split_sentences(text: str, sentences: list[str]) -> None:
    assert split_sentences(text) == sentences


def test_long_sentence_is_split_at_commas_within_the_bound() -> None:
    text = "，".join(["这是一个很长的句子"] * 30) + "。"
    parts = split_sentences(text, max_chars=40)
    assert all(len(p) <= 40 for p in parts)
    assert "".join(parts) == text


def test_messages_round_trip_through_json() -> None:
    t = Transcript(
        text="what is the rate",
        lang="en",
        words=(RecognizedWord(word="what", start_s=0.1, end_s=0.3, confidence=0.9),),
        confidence=0.9,
        engine="faster-whisper",
        audio_s=2.0,
        compute_s=0.5,
    )
    assert Transcript.model_validate_json(t.model_dump_json()) == t
    assert t.rtf == 0.25
    tl = timeline([PhonemeEvent(0, "m"), PhonemeEvent(50, "a")], 200)
    assert VisemeTimeline.model_validate_json(tl.model_dump_json()) == tl
