"""Render a spoken reply frame by frame against an audio playback clock.

Used by ``kiosk avatar render``, the tests and the benchmark. The clock is
injected: headless renders use the frame clock (frame n is shown at
n / fps seconds of audio); the benchmark passes the real clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from avatar.animation import Animator, AvatarState
from avatar.layout import Lang, ScreenModel
from avatar.lipsync import MouthTrack, SyncReport, percentile, sync_offsets, timeline_from_text
from avatar.render import Renderer
from edge_models.speech import VisemeTimeline


@dataclass(frozen=True, slots=True)
class RenderStats:
    """What rendering a reply cost and how well the mouth followed it."""

    frames: int
    duration_ms: float
    frame_ms: tuple[float, ...]
    sync: SyncReport

    @property
    def mean_frame_ms(self) -> float:
        """Mean time to draw one frame."""
        return sum(self.frame_ms) / len(self.frame_ms) if self.frame_ms else 0.0

    @property
    def p95_frame_ms(self) -> float:
        """95th percentile time to draw one frame."""
        return percentile(list(self.frame_ms), 95)

    def summary(self) -> dict[str, object]:
        """JSON-ready figures."""
        offsets = self.sync.offsets_ms
        return {
            "frames": self.frames,
            "duration_ms": round(self.duration_ms, 1),
            "mean_frame_ms": round(self.mean_frame_ms, 3),
            "p95_frame_ms": round(self.p95_frame_ms, 3),
            "lipsync": {
                "changes": len(offsets) + self.sync.missed,
                "shown": len(offsets),
                "missed": self.sync.missed,
                "mean_offset_ms": round(sum(offsets) / len(offsets), 2) if offsets else 0.0,
                "p95_offset_ms": round(self.sync.p95_ms, 2),
                "max_offset_ms": round(self.sync.max_ms, 2),
            },
        }


def render_reply(
    renderer: Renderer,
    text: str,
    lang: Lang,
    *,
    timeline: VisemeTimeline | None = None,
    emotion: str = "warm",
    fps: float = 30.0,
    elderly: bool = False,
    out_dir: Path | None = None,
    every: int = 1,
    clock: Callable[[], float] = time.perf_counter,
) -> RenderStats:
    """Render every frame of ``text`` being spoken, headless.

    Args:
        renderer: Where to draw.
        text: The reply (also shown as the subtitle).
        lang: Its language.
        timeline: The visemes from TTS; built from the text when missing.
        emotion: The decision's emotion.
        fps: Frames per second of the playback clock.
        elderly: Elderly-friendly mode (larger text, slower speech).
        out_dir: Save every ``every``-th frame here as ``frame_NNNNN.png``.
        every: Keep one frame in ``every``.
        clock: Measures how long each frame takes to draw (seconds).

    Returns:
        Frame times and lip-sync offsets.

    Raises:
        ValueError: If ``fps`` or ``every`` is not positive.
    """
    if fps <= 0 or every < 1:
        raise ValueError("fps and every must be positive")
    if timeline is None:
        timeline = timeline_from_text(text, lang, rate=0.8 if elderly else 1.0)
    animator = Animator(seed=7)
    animator.set_state(AvatarState.ATTENTIVE)
    animator.speak(timeline, emotion=emotion)
    track = animator.track or MouthTrack(timeline)
    screen = ScreenModel(lang=lang, said=text, elderly=elderly)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    step = 1000.0 / fps
    n_frames = int(timeline.duration_ms // step) + 2
    frame_ms: list[float] = []
    shown: list[tuple[float, float]] = []
    for n in range(n_frames):
        t = n * step
        animator.playback(t)
        pose = animator.advance(step if n else 0.0)
        start = clock()
        renderer.draw(pose, screen, t)
        frame_ms.append((clock() - start) * 1000.0)
        shown.append((t, t))
        if out_dir is not None and n % every == 0:
            renderer.save(out_dir / f"frame_{n:05d}.png")
    return RenderStats(
        frames=n_frames, duration_ms=timeline.duration_ms, frame_ms=tuple(frame_ms), sync=sync_offsets(track, shown)
    )
