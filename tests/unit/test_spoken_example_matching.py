"""Closed vocabulary by spoken examples: the alignment, the decision and the kept examples (no model)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from edge_models.asr.closed_vocab import Choice
from edge_models.asr.examples import (
    MAX_DISTANCE,
    MIN_MARGIN,
    NONE_MARGIN,
    SpokenExamples,
    pick_by_example,
    subsequence_cost,
    trimmed,
)
from edge_models.audio import Int16Array

CURRENCIES = [
    Choice("slot:exchange_rate:USD", ("美元", "USD")),
    Choice("slot:exchange_rate:EUR", ("欧元", "EUR")),
    Choice("slot:exchange_rate:JPY", ("日元", "JPY")),
]


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def _frames(seed: int, n: int, dim: int = 16) -> np.ndarray:
    return _unit(np.random.default_rng(seed).normal(size=(n, dim)))


def test_a_name_inside_an_utterance_costs_nothing_wherever_it_starts() -> None:
    name = _frames(1, 8)
    utterance = np.concatenate([_frames(2, 5), name, _frames(3, 7)])
    assert subsequence_cost(name, utterance) == pytest.approx(0.0, abs=1e-5)
    assert subsequence_cost(name, _frames(4, 20)) > 0.5  # another sound: far


def test_a_name_said_slower_or_faster_still_aligns() -> None:
    name = _frames(5, 8)
    slower = np.repeat(name, 3, axis=0)  # every frame three times: three times slower
    drawn = np.repeat(name, 2, axis=0)  # a name said slowly, heard quickly: two name frames share one
    assert subsequence_cost(name, np.concatenate([_frames(6, 4), slower])) == pytest.approx(0.0, abs=1e-5)
    assert subsequence_cost(drawn, name) == pytest.approx(0.0, abs=1e-5)
    # each name frame 6 utterance frames after the previous: more than MAX_SLOWER times slower
    gapped = np.concatenate([np.concatenate([row[None], _frames(7 + i, 5)]) for i, row in enumerate(name)])
    assert subsequence_cost(name, gapped) > 0.1


def test_empty_frames_are_infinitely_far() -> None:
    assert subsequence_cost(np.zeros((0, 4), np.float32), _frames(1, 3, 4)) == float("inf")
    assert subsequence_cost(_frames(1, 3, 4), np.zeros((0, 4), np.float32)) == float("inf")


def test_an_example_is_trimmed_of_its_silence_with_a_margin() -> None:
    tone = (np.sin(np.arange(1600) / 5.0) * 8000).astype(np.int16)
    clip = np.concatenate([np.zeros(4000, np.int16), tone, np.zeros(6000, np.int16)])
    cut = trimmed(clip, keep=100)
    assert 1600 <= len(cut) <= 1600 + 200
    assert len(trimmed(np.zeros(500, np.int16))) == 500  # all silence: kept whole


def _given(heard: float = float("inf"), **distances: float):  # type: ignore[no-untyped-def]
    asked: list[tuple[list[str], str]] = []

    def distances_of(names: Sequence[str], written: str) -> list[float]:
        asked.append((list(names), written))
        return [*(distances.get(n, 0.9) for n in names), heard]

    return distances_of, asked


def test_the_clearly_closest_name_is_picked() -> None:
    distances, asked = _given(欧元=0.30, 美元=0.40, 日元=0.41)
    found = pick_by_example("哦 in 元", CURRENCIES, "zh", distances)
    assert found is not None
    assert (found.key, found.phrase) == ("slot:exchange_rate:EUR", "欧元")
    assert found.similarity == pytest.approx(0.70)
    assert 0.5 < found.confidence <= 1.0
    # Mandarin names only and the heard text's Chinese characters (Latin is not spoken repeatably), one call
    assert asked == [(["美元", "欧元", "日元"], "哦元")]


def test_no_pick_when_too_far_or_too_close_to_the_next() -> None:
    far, _ = _given(欧元=MAX_DISTANCE + 0.01, 美元=0.9)
    assert pick_by_example("哦耶", CURRENCIES, "zh", far) is None
    tied, _ = _given(欧元=0.30, 美元=0.30 + MIN_MARGIN / 2)
    assert pick_by_example("哦耶", CURRENCIES, "zh", tied) is None
    clear, _ = _given(欧元=0.30, 美元=0.30 + MIN_MARGIN * 2)
    assert pick_by_example("哦耶", CURRENCIES, "zh", clear) is not None


def test_no_pick_without_chinese_in_what_whisper_wrote() -> None:
    # nothing heard, or only Latin letters: no "none of these" to weigh the names against
    distances, asked = _given(欧元=0.10)
    assert pick_by_example("", CURRENCIES, "zh", distances) is None
    assert pick_by_example("only inch", CURRENCIES, "zh", distances) is None
    assert asked == []


def test_a_heard_text_longer_than_the_picked_name_said_alone_is_no_pick() -> None:
    options = [*CURRENCIES, Choice("staff", ("呼叫工作人员",))]
    long_heard = "我想问一下几点关门"  # 9 syllables: a 6-character name said alone, not a 2-character one
    short_name, _ = _given(欧元=0.30, 呼叫工作人员=0.40)
    assert pick_by_example(long_heard, options, "zh", short_name) is None
    long_name, _ = _given(呼叫工作人员=0.30, 欧元=0.40)
    found = pick_by_example(long_heard, options, "zh", long_name)
    assert found is not None
    assert found.key == "staff"


def test_no_pick_when_what_whisper_wrote_sounds_closer_than_the_name() -> None:
    # "none of these": the heard text, spoken by the same voice, explains the audio better
    written, _ = _given(heard=0.29 + NONE_MARGIN, 欧元=0.30, 美元=0.40)
    assert pick_by_example("我要投诉", CURRENCIES, "zh", written) is None
    farther, _ = _given(heard=0.36 + NONE_MARGIN, 欧元=0.30, 美元=0.40)
    found = pick_by_example("哦耶", CURRENCIES, "zh", farther)
    assert found is not None
    assert found.key == "slot:exchange_rate:EUR"


def test_a_sentence_or_another_language_is_not_matched_by_example() -> None:
    distances, asked = _given(欧元=0.2)
    assert pick_by_example("我想问一下你们今天几点关门", CURRENCIES, "zh", distances) is None
    assert pick_by_example("euro", CURRENCIES, "en", distances) is None
    assert asked == []  # nothing was computed


class _Recorder:
    def __init__(self) -> None:
        self.spoken: list[str] = []

    def speak(self, text: str, lang: str) -> list[Int16Array]:
        self.spoken.append(text)
        return [np.full(len(text), ord(text[0]) % 100, np.int16)]

    @staticmethod
    def encode(samples: Int16Array, urgent: bool = True) -> np.ndarray:
        return _unit(np.stack([np.ones(len(samples)), samples.astype(np.float64) + 1.0], axis=1)[:, :2])


def test_examples_are_spoken_once_and_the_least_used_dropped() -> None:
    recorder = _Recorder()
    examples = SpokenExamples(recorder.encode, recorder.speak, capacity=2)
    utterance = np.full(6, ord("美") % 100, np.int16)
    first = examples.distances(utterance, "zh", ["美元", "欧元"])
    assert first[-1] == float("inf")  # nothing heard: infinitely far
    assert examples.distances(utterance, "zh", ["美元", "欧元"]) == first
    assert recorder.spoken == ["美元", "欧元"]  # kept: not spoken again
    assert first[0] == pytest.approx(0.0, abs=1e-3)  # examples are kept in float16
    assert first[1] > first[0]
    examples.distances(utterance, "zh", ["日元"])  # a third name drops the least recently used (美元)
    examples.distances(utterance, "zh", ["欧元", "美元"])
    assert recorder.spoken == ["美元", "欧元", "日元", "美元"]
    heard = examples.distances(utterance, "zh", ["欧元"], "美人")  # the heard text is spoken, and not kept
    assert heard[1] == pytest.approx(0.0, abs=1e-3)
    examples.distances(utterance, "zh", ["欧元"], "美人")
    assert recorder.spoken == ["美元", "欧元", "日元", "美元", "美人", "美人"]


def test_a_text_the_voice_cannot_speak_is_infinitely_far() -> None:
    from edge_models.tts import TtsError

    recorder = _Recorder()

    def speak(text: str, lang: str) -> list[Int16Array]:
        if not any(ch.isalnum() for ch in text):
            raise TtsError("nothing to speak")
        return recorder.speak(text, lang)

    examples = SpokenExamples(recorder.encode, speak)
    utterance = np.full(6, ord("美") % 100, np.int16)
    near, far = examples.distances(utterance, "zh", ["美元"], "？！")
    assert near == pytest.approx(0.0, abs=1e-3)
    assert far == float("inf")


def test_a_name_two_threads_need_at_once_is_made_once() -> None:
    import threading
    import time

    recorder = _Recorder()

    def slow(text: str, lang: str) -> list[Int16Array]:
        time.sleep(0.2)
        return recorder.speak(text, lang)

    examples = SpokenExamples(recorder.encode, slow)
    results: list[list[np.ndarray]] = []
    threads = [threading.Thread(target=lambda: results.append(examples.examples("美元", "zh"))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert recorder.spoken == ["美元"]
    assert len(results) == 3
    assert all(r is results[0] for r in results)


def test_a_name_the_voice_could_not_speak_is_asked_again_next_time() -> None:
    from edge_models.tts import TtsError

    recorder = _Recorder()
    failing = [True]

    def speak(text: str, lang: str) -> list[Int16Array]:
        if failing[0]:
            raise TtsError("voice not ready")
        return recorder.speak(text, lang)

    examples = SpokenExamples(recorder.encode, speak)
    assert examples.examples("美元", "zh") == []
    assert not examples.has("美元", "zh")  # not kept: the failure is not remembered as "no example"
    failing[0] = False
    assert len(examples.examples("美元", "zh")) == 1
    assert examples.has("美元", "zh")
