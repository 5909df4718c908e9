"""Benchmark of the avatar renderer: frames per second at 1080x1920 on one core, lip-sync offsets.

    .venv/bin/python scripts/bench_avatar.py [--frames 300] [--size 1080x1920]

1. Throughput: frames of a speaking avatar drawn back to back on one CPU core.
2. Lip sync against a real clock: a 30 fps loop plays a reply; each frame is
   drawn for the audio position it will be shown at (now + the measured draw
   time) and counts as shown when drawing ends. The offset of each viseme
   change is the time from its scheduled start to the first frame showing it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

from avatar.animation import Animator
from avatar.layout import ScreenModel
from avatar.lipsync import MouthTrack, percentile, sync_offsets, timeline_from_text
from avatar.render import Renderer

REPLY_ZH = "您好，欢迎光临！我可以帮您取号、查询汇率或者挂失银行卡。请问今天需要办理什么业务？"
REPLY_EN = "Hello and welcome! I can help you with a queue ticket, exchange rates or a lost card."


def throughput(renderer: Renderer, frames: int) -> list[float]:
    animator = Animator(seed=1)
    timeline = timeline_from_text(REPLY_ZH, "zh")
    animator.speak(timeline, emotion="warm")
    screen = ScreenModel(lang="zh", said=REPLY_ZH, heard="我想办理业务")
    times = []
    step = 1000 / 30
    for n in range(frames):
        animator.playback((n * step) % timeline.duration_ms)
        pose = animator.advance(step)
        start = time.perf_counter()
        renderer.draw(pose, screen, n * step)
        times.append((time.perf_counter() - start) * 1000)
    return times


def realtime_sync(renderer: Renderer, text: str, lang: str, fps: float, lead_ms: float) -> tuple[list[float], int]:
    timeline = timeline_from_text(text, "zh" if lang == "zh" else "en")
    track = MouthTrack(timeline)
    animator = Animator(seed=2)
    animator.speak(timeline, emotion="warm")
    screen = ScreenModel(lang="zh" if lang == "zh" else "en", said=text)
    shown: list[tuple[float, float]] = []
    interval = 1.0 / fps
    start = time.perf_counter()
    last = start
    next_frame = start
    while True:
        now = time.perf_counter()
        audio_ms = (now - start) * 1000
        if audio_ms > timeline.duration_ms:
            break
        drawn_for = audio_ms + lead_ms
        animator.playback(drawn_for)
        pose = animator.advance((now - last) * 1000)
        last = now
        renderer.draw(pose, screen, audio_ms)
        shown.append((drawn_for, (time.perf_counter() - start) * 1000))
        next_frame += interval
        time.sleep(max(0.0, next_frame - time.perf_counter()))
    report = sync_offsets(track, shown)
    return list(report.offsets_ms), report.missed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--size", default="1080x1920")
    parser.add_argument("--fps", type=float, default=30.0, help="Frame rate of the real-time lip-sync loop.")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    width, height = (int(v) for v in args.size.split("x"))
    renderer = Renderer((width, height))
    throughput(renderer, 10)  # warm-up: rasterise the art, cache fonts
    times = throughput(renderer, args.frames)
    mean = statistics.fmean(times)
    print(f"renderer {width}x{height}, one core: {1000 / mean:.0f} fps")
    print(f"  frame time mean {mean:.2f} ms, p50 {percentile(times, 50):.2f} ms, p95 {percentile(times, 95):.2f} ms")
    draw_ms = percentile(times, 50)
    frame_ms = 1000 / args.fps
    for name, lead in (("lead = draw time", draw_ms), ("lead = draw time + half a frame", draw_ms + frame_ms / 2)):
        offsets: list[float] = []
        missed = 0
        for text, lang in ((REPLY_ZH, "zh"), (REPLY_EN, "en")):
            got, miss = realtime_sync(renderer, text, lang, args.fps, lead)
            offsets += got
            missed += miss
        absolute = [abs(o) for o in offsets]
        print(
            f"lip sync at {args.fps:.0f} fps on the real clock, {name} ({lead:.1f} ms):"
            f" {len(offsets)} viseme changes, {missed} too short to show"
        )
        print(
            f"  offset mean {statistics.fmean(offsets):+.1f} ms, |offset| p95 {percentile(absolute, 95):.1f} ms,"
            f" max {max(absolute):.1f} ms (goal: under 40 ms)"
        )


if __name__ == "__main__":
    main()
