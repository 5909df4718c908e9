"""Endpointing: a pure state machine fed frames and elapsed time."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pytest

from edge_models.asr import Endpointer, VadSettings
from tests.voice_support import tone

FRAME = 480  # 30 ms


def frames(*parts: tuple[str, float]) -> Iterable[np.ndarray]:
    rng = np.random.default_rng(0)
    for kind, seconds in parts:
        n = int(seconds * 1000 / 30)
        for _ in range(n):
            if kind == "silence":
                yield np.zeros(FRAME, np.int16)
            elif kind == "noise":
                yield (rng.normal(0, 0.05, FRAME) * 32767).astype(np.int16)
            else:
                yield tone(300, 0.03)


def run(ep: Endpointer, *parts: tuple[str, float]) -> list[tuple[str, float]]:
    events = []
    for frame in frames(*parts):
        event = ep.process(frame, 30.0)
        if event:
            events.append((event, ep.now_ms))
    return events


def test_speech_then_silence_starts_and_ends_an_utterance() -> None:
    ep = Endpointer()
    events = run(ep, ("silence", 0.6), ("speech", 1.2), ("silence", 1.0))
    assert [e for e, _ in events] == ["speech_start", "speech_end"]
    assert ep.speech_start_ms == pytest.approx(600, abs=30)
    assert ep.speech_end_ms == pytest.approx(1800, abs=30)
    assert events[1][1] == pytest.approx(1800 + 600, abs=30)  # after the trailing-silence window


def test_short_pause_inside_speech_does_not_end_it() -> None:
    ep = Endpointer()
    events = run(ep, ("silence", 0.3), ("speech", 0.48), ("silence", 0.3), ("speech", 0.48), ("silence", 0.9))
    assert [e for e, _ in events] == ["speech_start", "speech_end"]
    assert ep.speech_end_ms == pytest.approx(1560, abs=1)


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ((("silence", 9.0),), ["timeout"]),
        ((("noise", 9.0),), ["timeout"]),
        ((("noise", 1.0), ("speech", 20.0)), ["speech_start", "max_length"]),
        ((("silence", 0.3), ("speech", 0.06), ("silence", 9.0)), ["timeout"]),
    ],
    ids=["silence-times-out", "steady-noise-is-not-speech", "endless-speech-is-cut", "click-is-not-speech"],
)
def test_edge_cases(parts: tuple[tuple[str, float], ...], expected: list[str]) -> None:
    ep = Endpointer()
    assert [e for e, _ in run(ep, *parts)] == expected


def test_done_until_reset_and_bad_time() -> None:
    ep = Endpointer(VadSettings(no_speech_timeout_ms=100))
    assert [e for e, _ in run(ep, ("silence", 0.2))] == ["timeout"]
    assert ep.process(tone(300, 0.03), 30) is None
    ep.reset()
    assert ep.state == "waiting"
    with pytest.raises(ValueError, match="negative"):
        ep.process(tone(300, 0.03), -1)
