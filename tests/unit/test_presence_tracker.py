"""Presence logic, fed face boxes and elapsed time."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from edge_models.vision.face import Face
from kiosk.runtime.presence import PresenceConfig, PresenceTracker

NEAR = Face(x=0.35, y=0.25, w=0.3, h=0.35, score=0.93)
FAR = Face(x=0.1, y=0.2, w=0.05, h=0.06, score=0.9)
WEAK = Face(x=0.35, y=0.25, w=0.3, h=0.35, score=0.3)


@dataclass(frozen=True)
class Case:
    name: str
    frames: list[tuple[tuple[Face, ...], float]]  # (faces, dt_ms)
    events: list[str]


def seq(faces: tuple[Face, ...], n: int, dt: float = 100.0) -> list[tuple[tuple[Face, ...], float]]:
    return [(faces, dt)] * n


CASES = [
    Case("steady face arrives", seq((NEAR,), 12), ["arrived"]),
    Case("too short is not an arrival", seq((NEAR,), 5) + seq((), 40), []),
    Case("passer-by far away is ignored", seq((FAR,), 40), []),
    Case("weak detections are ignored", seq((WEAK,), 40), []),
    Case("arrives then leaves", seq((NEAR,), 12) + seq((), 35), ["arrived", "left"]),
    Case("a short drop-out is bridged", seq((NEAR,), 12) + seq((), 10) + seq((NEAR,), 5) + seq((), 10), ["arrived"]),
    Case(
        "second customer after the first left",
        seq((NEAR,), 12) + seq((), 31) + seq((NEAR,), 12),
        ["arrived", "left", "arrived"],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_presence_events(case: Case) -> None:
    tracker = PresenceTracker(PresenceConfig())
    events = [e.kind for faces, dt in case.frames for e in tracker.update(faces, dt)]
    assert events == case.events


def test_arrival_needs_a_face_that_stays_put() -> None:
    tracker = PresenceTracker()
    events = []
    for i in range(20):
        x = 0.05 if i % 2 else 0.6  # two different people flickering: never steady
        events += tracker.update((Face(x=x, y=0.3, w=0.3, h=0.3, score=0.9),), 100)
    assert events == []


def test_arrival_carries_the_face_position_and_gaze_target() -> None:
    tracker = PresenceTracker()
    events = [e for _ in range(12) for e in tracker.update((NEAR,), 100)]
    assert events[0].x == pytest.approx(0.5)
    assert events[0].t_ms == pytest.approx(900)
    assert tracker.gaze_target == pytest.approx(NEAR.centre)
    for _ in range(31):
        tracker.update((), 100)
    assert tracker.gaze_target is None
    assert not tracker.present


def test_event_round_trips() -> None:
    tracker = PresenceTracker(PresenceConfig(arrive_ms=0))
    (event,) = tracker.update((NEAR,), 0) + tracker.update((NEAR,), 50)
    assert type(event).model_validate_json(event.model_dump_json()) == event


def test_bad_elapsed_time_is_rejected() -> None:
    with pytest.raises(ValueError, match="elapsed"):
        PresenceTracker().update((), -5)
