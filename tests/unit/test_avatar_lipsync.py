"""Lip sync: text to visemes, smoothed mouth shapes, offsets of shown frames."""

from __future__ import annotations

import itertools

import pytest

from avatar.lipsync import VISEME_SHAPES, MouthTrack, percentile, sync_offsets, timeline_from_text
from edge_models.speech import VisemeCue, VisemeTimeline


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("您好，欢迎光临！", "zh"),
        ("Hello, how can I help you?", "en"),
        ("请出示您的ID card", "zh"),
    ],
    ids=["chinese", "english", "mixed"],
)
def test_text_timeline_is_ordered_and_speaks(text: str, lang: str) -> None:
    tl = timeline_from_text(text, "zh" if lang == "zh" else "en")
    assert tl.cues, "no visemes"
    assert tl.duration_ms >= tl.cues[-1].end_ms
    starts = [c.start_ms for c in tl.cues]
    assert starts == sorted(starts)
    assert {c.viseme for c in tl.cues} - {"X"}, "only rest shapes"
    assert all(a.viseme != b.viseme or a.end_ms < b.start_ms for a, b in zip(tl.cues, tl.cues[1:], strict=False))


def test_slower_rate_is_longer() -> None:
    normal = timeline_from_text("您好，欢迎光临", "zh")
    slow = timeline_from_text("您好，欢迎光临", "zh", rate=0.8)
    assert slow.duration_ms > normal.duration_ms * 1.2


@pytest.mark.parametrize("rate", [0.0, -1.0, float("nan")], ids=["zero", "negative", "nan"])
def test_bad_rate_is_rejected(rate: float) -> None:
    with pytest.raises(ValueError, match="rate"):
        timeline_from_text("hi", "en", rate=rate)


def test_empty_text_gives_an_empty_timeline() -> None:
    assert timeline_from_text("…", "zh").cues == ()


def test_timeline_round_trips_through_json() -> None:
    tl = timeline_from_text("Hello there", "en")
    assert VisemeTimeline.model_validate_json(tl.model_dump_json()) == tl


def _timeline() -> VisemeTimeline:
    return VisemeTimeline(
        duration_ms=700,
        cues=(
            VisemeCue(start_ms=100, end_ms=250, viseme="D"),
            VisemeCue(start_ms=250, end_ms=300, viseme="A"),
            VisemeCue(start_ms=300, end_ms=500, viseme="E"),
        ),
    )


@pytest.mark.parametrize(
    ("t_ms", "viseme"),
    [(0, "X"), (99.9, "X"), (100, "D"), (249, "D"), (250, "A"), (300, "E"), (499, "E"), (500, "X"), (650, "X")],
    ids=str,
)
def test_dominant_viseme_starts_at_its_scheduled_time(t_ms: float, viseme: str) -> None:
    assert MouthTrack(_timeline()).viseme_at(t_ms) == viseme


def test_mouth_moves_smoothly_and_reaches_each_shape() -> None:
    track = MouthTrack(_timeline(), blend_ms=70)
    shapes = [track.shape_at(t / 2) for t in range(0, 1400)]
    steps = [abs(a.open - b.open) for a, b in itertools.pairwise(shapes)]
    # 0.5 ms apart: an eased blend never moves the jaw more than a few percent.
    assert max(steps) < 0.05
    assert track.shape_at(175) == VISEME_SHAPES["D"]
    assert track.shape_at(400) == VISEME_SHAPES["E"]
    assert track.shape_at(650) == VISEME_SHAPES["X"]
    # Halfway through a change the mouth is between both shapes.
    mid = track.shape_at(100).open
    assert VISEME_SHAPES["X"].open < mid < VISEME_SHAPES["D"].open


@pytest.mark.parametrize("fps", [30.0, 60.0], ids=["30fps", "60fps"])
def test_frames_show_each_viseme_within_40_ms(fps: float) -> None:
    tl = timeline_from_text("您好，欢迎光临！请问今天办理什么业务？", "zh")
    track = MouthTrack(tl)
    step = 1000 / fps
    shown = [(n * step, n * step) for n in range(int(tl.duration_ms / step) + 2)]
    report = sync_offsets(track, shown)
    assert report.missed == 0
    assert len(report.offsets_ms) == len(track.keys) - 1
    assert min(report.offsets_ms) >= 0
    assert report.p95_ms < 40
    assert report.max_ms < step + 1e-6


def test_late_frames_show_as_late_offsets() -> None:
    track = MouthTrack(_timeline())
    shown = [(t, t + 45.0) for t in range(0, 700, 10)]
    assert sync_offsets(track, shown).p95_ms >= 45


def test_percentile_nearest_rank() -> None:
    assert percentile([], 95) == 0.0
    assert percentile([float(v) for v in range(1, 101)], 95) == 95.0
