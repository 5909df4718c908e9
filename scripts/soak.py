"""Soak: hours of simulated customers through the whole kiosk; does anything grow, crash or slow down?

The kiosk runs as ``kiosk run`` builds it (dialogue engine with the int8
model, TTS, the avatar rendering at 15 fps, mediapipe presence on the
simulated camera, simulated printer, speaker and card reader). Customers
walk up (a face appears on the camera and presence starts the session),
type, tap the reply's buttons, speak (espeak-ng WAVs through whisper),
insert a card, and walk away (the face goes and presence ends the session).
Scenarios cycle through a rate question, a queue ticket, a lost card, a
fraud attempt, a hand-off and FAQ questions in Mandarin and English.

Every ``--sample-s`` seconds it samples resident memory, open files and
threads; every turn's latency is kept. At the end it prints the trends
(least squares over the samples after the first tenth, the warm-up) and the
turn latency per quarter of the run, and writes everything as JSON.

    .venv/bin/python scripts/soak.py --minutes 120 --out build/soak.json
    .venv/bin/python scripts/soak.py --minutes 1 --sample-s 5   # a smoke run

Exit status 1 when a customer visit raised, a supervised component
crashed, or sessions were left open.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from measure import open_files, opening_hours_clock, pct, rss_mb, slope, threads

# A scenario is a list of steps: ("text", str), ("tap", index of the reply's button), ("voice", line), ("card", pan).
Step = tuple[str, Any]
SCENARIOS: list[list[Step]] = [
    [("text", "今天美元汇率多少"), ("text", "谢谢")],
    [("text", "我要取号"), ("tap", 0)],
    [("voice", ("I need a queue ticket", "en")), ("tap", 0)],
    [("text", "我的银行卡丢了"), ("tap", 0)],
    [("text", "有人自称警察让我把钱转到安全账户")],
    [("text", "I want to talk to a real person")],
    [("card", "6222020200112233445"), ("text", "开户需要带什么"), ("tap", 0)],
    [("voice", ("What is the US dollar exchange rate today?", "en")), ("text", "thank you")],
    [("text", "what time do you close"), ("text", "can a foreigner open an account with a passport?")],
    [("text", "hello"), ("text", "asdf qwer"), ("text", "我想问一下定期存款利率")],
]


@dataclass
class Soak:
    """What the run observed."""

    started: float = field(default_factory=time.perf_counter)
    samples: list[dict[str, float]] = field(default_factory=list)
    turns: list[tuple[float, float]] = field(default_factory=list)  # (elapsed s, ms)
    customers: int = 0
    visit_errors: list[str] = field(default_factory=list)
    actions: dict[str, int] = field(default_factory=dict)

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def sample(self) -> None:
        self.samples.append(
            {
                "t_s": round(self.elapsed(), 1),
                "customers": self.customers,
                "rss_mb": round(rss_mb(), 1),
                "open_files": open_files(),
                "threads": threads(),
            }
        )


async def wait_until(check: Any, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(0.05)
    return bool(check())


async def visit(
    runtime: Any, camera: Any, face: Any, scenario: list[Step], *, wavs: dict[str, Any], soak: Soak
) -> None:
    """One customer: walk up, the scenario's steps, walk away."""
    camera.show(face)
    if not await wait_until(lambda: runtime.session_id is not None, 15.0):
        raise RuntimeError("presence did not start a session within 15 s")
    last = None
    for kind, arg in scenario:
        t0 = time.perf_counter()
        if kind == "text":
            last = await runtime.text(arg)
        elif kind == "voice":
            last = await runtime.voice(wavs[arg[0]], arg[1])
        elif kind == "tap":
            if last is None or len(last.buttons) <= arg:
                continue
            last = await runtime.button(last.buttons[arg][0])
        elif kind == "card":
            runtime.devices.card_reader.insert(arg)
            await asyncio.sleep(0.6)
            runtime.devices.card_reader.remove()
            continue
        soak.turns.append((soak.elapsed(), (time.perf_counter() - t0) * 1000))
        if last is not None:
            soak.actions[last.action] = soak.actions.get(last.action, 0) + 1
        await asyncio.sleep(0.4)  # reading the reply; the next input interrupts the speech
    camera.show(None)
    if not await wait_until(lambda: runtime.session_id is None and not runtime.presence.present, 15.0):
        raise RuntimeError("presence did not end the session within 15 s of the customer leaving")


async def main(args: argparse.Namespace) -> int:
    from edge_models.audio import read_wav, write_wav
    from edge_models.tts import EspeakSynthesizer
    from hardware.camera import SceneCamera
    from kiosk.assembly import build_kiosk
    from kiosk.config import Settings
    from kiosk.runtime import DevicesConfig, RuntimeConfig
    from kiosk.runtime.devices import face_photo

    tmp = Path(tempfile.mkdtemp(prefix="soak-"))
    settings = Settings(state_dir=tmp / "state", use_llm=False)
    devices = DevicesConfig(paper_slips=args.paper_slips)
    config = RuntimeConfig(devices=devices, width=540, height=960, fps=15.0)
    kiosk = await asyncio.to_thread(build_kiosk, settings)
    runtime = await asyncio.to_thread(lambda: kiosk.attach_runtime(config, now=opening_hours_clock()))
    camera = runtime.devices.camera
    if not isinstance(camera, SceneCamera) or runtime.detector is None or runtime.devices.card_reader is None:
        print(f"the simulated camera, face detector and card reader are needed; problems: {runtime.problems()}")
        return 1
    await runtime.start()
    synth = EspeakSynthesizer()
    wavs: dict[str, Any] = {}
    for scenario in SCENARIOS:
        for kind, arg in scenario:
            if kind == "voice" and arg[0] not in wavs:
                path = tmp / f"voice{len(wavs)}.wav"
                write_wav(path, synth.synthesize(arg[0], arg[1]).pcm)
                wavs[arg[0]] = read_wav(path)
    face = face_photo()

    soak = Soak()
    soak.sample()
    next_sample = args.sample_s
    deadline = args.minutes * 60
    print(f"soak for {args.minutes:g} min, sampling every {args.sample_s:g} s; RSS at start {rss_mb():.0f} MB")
    while soak.elapsed() < deadline:
        scenario = SCENARIOS[soak.customers % len(SCENARIOS)]
        try:
            await visit(runtime, camera, face, scenario, wavs=wavs, soak=soak)
        except Exception as err:  # noqa: BLE001 - counted and reported; the soak goes on
            soak.visit_errors.append(f"customer {soak.customers}: {type(err).__name__}: {err}")
            camera.show(None)
            await runtime.end_session("left")
        soak.customers += 1
        if soak.elapsed() >= next_sample:
            soak.sample()
            next_sample += args.sample_s
            if args.progress:
                s = soak.samples[-1]
                line = f"{s['t_s']:7.0f} s  {soak.customers:5d} customers  {s['rss_mb']:6.1f} MB"
                print(f"  {line}  {s['open_files']} fds  {s['threads']} threads")
    soak.sample()
    await runtime.stop()
    report = summarise(soak, runtime)
    kiosk.close()
    print_report(report)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({**report, "samples": soak.samples}, indent=1))
        print(f"written: {args.out}")
    failed = report["visit_errors"] or report["restarts"] or report["sessions_open"]
    return 1 if failed else 0


def summarise(soak: Soak, runtime: Any) -> dict[str, Any]:
    """Trends and figures of the run (the first tenth is the warm-up, left out of the trends)."""
    duration = soak.elapsed()
    steady = [s for s in soak.samples if s["t_s"] >= duration / 10] or soak.samples
    hours = [s["t_s"] / 3600 for s in steady]
    lat = [ms for _, ms in soak.turns]
    quarters = []
    for q in range(4):
        part = [ms for t, ms in soak.turns if q * duration / 4 <= t < (q + 1) * duration / 4]
        quarters.append({"turns": len(part), "p50_ms": round(pct(part, 50), 1), "p95_ms": round(pct(part, 95), 1)})
    first, last = soak.samples[0], soak.samples[-1]
    return {
        "minutes": round(duration / 60, 1),
        "customers": soak.customers,
        "turns": len(lat),
        "actions": soak.actions,
        "sessions_closed": runtime.sessions_closed,
        "sessions_open": 0 if runtime.session_id is None else 1,
        "tickets_printed": len(runtime.tickets_printed),
        "visit_errors": soak.visit_errors[:20],
        "restarts": sum(s.restarts for s in runtime.supervisor.status.values()),
        "rss_mb": {"start": first["rss_mb"], "end": last["rss_mb"], "max": max(s["rss_mb"] for s in soak.samples)},
        "rss_trend_mb_per_hour": round(slope(hours, [s["rss_mb"] for s in steady]), 2),
        "open_files": {"start": first["open_files"], "end": last["open_files"]},
        "open_files_trend_per_hour": round(slope(hours, [s["open_files"] for s in steady]), 2),
        "threads": {"start": first["threads"], "end": last["threads"]},
        "turn_latency": {"p50_ms": round(pct(lat, 50), 1), "p95_ms": round(pct(lat, 95), 1), "quarters": quarters},
        "frames": runtime.screen.frames if runtime.screen is not None else 0,
        "fps": round((runtime.screen.frames if runtime.screen is not None else 0) / duration, 1),
    }


def print_report(r: dict[str, Any]) -> None:
    print(
        f"soak: {r['minutes']} min, {r['customers']} customers, {r['turns']} turns, "
        f"{r['sessions_closed']} sessions closed ({r['sessions_open']} left open), "
        f"{r['tickets_printed']} tickets printed"
    )
    print(f"  crashes: {len(r['visit_errors'])} failed visits, {r['restarts']} component restarts")
    for err in r["visit_errors"]:
        print(f"    {err}")
    m = r["rss_mb"]
    print(
        f"  memory {m['start']:.0f} -> {m['end']:.0f} MB (max {m['max']:.0f}), "
        f"trend after warm-up {r['rss_trend_mb_per_hour']:+.2f} MB/hour"
    )
    f = r["open_files"]
    print(f"  open files {f['start']} -> {f['end']}, trend {r['open_files_trend_per_hour']:+.2f}/hour")
    print(f"  threads {r['threads']['start']} -> {r['threads']['end']}")
    lat = r["turn_latency"]
    print(f"  turn latency p50 {lat['p50_ms']:.0f} ms, p95 {lat['p95_ms']:.0f} ms; per quarter (p50/p95):")
    for i, q in enumerate(lat["quarters"], 1):
        print(f"    Q{i}: {q['turns']} turns, {q['p50_ms']:.0f} / {q['p95_ms']:.0f} ms")
    print(f"  avatar frames {r['frames']} ({r['fps']} fps); actions {r['actions']}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=120.0, help="How long to run (default: 2 hours).")
    parser.add_argument("--sample-s", type=float, default=30.0, help="Seconds between memory samples.")
    parser.add_argument("--paper-slips", type=int, default=100_000, help="Slips on the simulated printer's roll.")
    parser.add_argument("--out", type=Path, default=None, help="Write the report and samples as JSON here.")
    parser.add_argument("--progress", action="store_true", help="Print each sample as it is taken.")
    sys.exit(asyncio.run(main(parser.parse_args())))
