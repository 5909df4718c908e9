"""The kiosk screen draws the mouth ahead of the audio (draw time + half a frame), not behind it."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

from edge_models.speech import VisemeCue, VisemeTimeline
from kiosk.runtime.screen import LiveScreen


def test_frames_are_drawn_for_the_audio_they_will_be_shown_with() -> None:
    now = [100.0]
    screen = LiveScreen(240, 420, fps=15.0, clock=lambda: now[0])
    screen.tick()  # one frame drawn: its draw time is known
    lead_ms = screen.draw_ms + 1000.0 / 30.0  # drawing it, then half of the frame's time on screen
    timeline = VisemeTimeline(duration_ms=1000.0, cues=(VisemeCue(start_ms=0.0, end_ms=1000.0, viseme="D"),))
    started = screen.speak(timeline, "大", "zh", "warm", ())  # the speaker starts now
    assert (100.0 - started) * 1000.0 == pytest.approx(lead_ms)
    now[0] = 100.2  # 200 ms of audio have played
    screen.tick()
    drawn_for = screen._animator._speech_ms  # the audio position this frame was drawn for
    assert drawn_for == pytest.approx(200.0 + lead_ms)  # ahead of the audio, never behind it
