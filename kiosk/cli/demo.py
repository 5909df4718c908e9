"""``kiosk demo``: a scripted day on simulated devices, recorded as a GIF with a summary of the turns.

Customers are the built-in face photo (matplotlib's Grace Hopper sample) in
front of the simulated camera, run through the real face detector; their
voices are WAV files made with the kiosk's own TTS and recognised by the
real ASR. The recording is of the kiosk's screen (the avatar), never of a
customer.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kiosk.config import default_state_dir

if TYPE_CHECKING:
    from kiosk.runtime import KioskRuntime

DEMO_NOW = datetime(2026, 11, 27, 10, 30)  # a Friday morning: the branch is open
DEMO_EVENING = datetime(2026, 11, 27, 17, 30)  # after closing time: the out-of-hours screen
VOICES = {
    "rate.en": ("What is the US dollar exchange rate today?", "en"),
    "lost.zh": ("我的银行卡丢了", "zh"),
}


async def _until(check: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(0.1)
    return False


class Recorder:
    """Samples the kiosk screen at a low frame rate into GIF frames (the avatar only)."""

    def __init__(self, runtime: KioskRuntime, fps: float, scale: float) -> None:
        self.runtime = runtime
        self.fps = fps
        self.scale = scale
        self.frames: list[Any] = []

    async def run(self) -> None:
        """Sample frames until cancelled."""
        from PIL import Image

        screen = self.runtime.screen
        if screen is None:
            return
        while True:
            started = time.monotonic()
            data, size = await asyncio.to_thread(screen.rgb, self.scale)
            self.frames.append(Image.frombytes("RGB", size, data).quantize(colors=64))
            await asyncio.sleep(max(0.0, 1.0 / self.fps - (time.monotonic() - started)))

    def save(self, path: Path) -> int:
        """Write the GIF; returns its size in bytes."""
        if not self.frames:
            return 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self.frames[0].save(
            path, save_all=True, append_images=self.frames[1:], duration=round(1000 / self.fps), loop=0, optimize=True
        )
        return path.stat().st_size


async def play_day(runtime: KioskRuntime, voices: dict[str, Path], note: Callable[[str], None]) -> None:
    """The scripted day: arrivals, a rate question, a queue ticket, a lost card, fraud, a hand-off, departures.

    Then closing time: the out-of-hours screen, and a late customer who gets no ticket but hears when it opens.
    """
    from edge_models.audio import read_wav
    from hardware import SceneCamera, SimulatedCardReader
    from kiosk.runtime import face_photo

    camera = runtime.devices.camera
    face = face_photo()

    async def walk_up() -> None:
        if isinstance(camera, SceneCamera) and runtime.detector is not None:
            camera.show(face)
            if not await _until(lambda: runtime.session_id is not None, 10.0):
                note("presence did not see the customer; starting by touch")
                await runtime.arrive()
        else:
            await runtime.arrive()
        await runtime.wait_speech(15.0)

    async def walk_away() -> None:
        await runtime.wait_speech(30.0)
        await asyncio.sleep(0.8)
        if isinstance(camera, SceneCamera) and runtime.detector is not None:
            camera.show(None)
            if await _until(lambda: runtime.session_id is None, 10.0):
                return
        await runtime.end_session("left")

    async def turn(step: Awaitable[Any]) -> Any:
        record = await step
        note(f"{record.source}: {record.heard!r} -> {record.action} {record.intent} {record.ticket or ''}".strip())
        await runtime.wait_speech(30.0)
        await asyncio.sleep(0.6)
        return record

    await asyncio.sleep(1.5)
    # 1. An English speaker asks a rate (voice).
    await walk_up()
    record = await turn(runtime.voice(read_wav(voices["rate.en"]), "en"))
    if record.action == "ask" and record.buttons:  # which currency: tap it
        await turn(runtime.button(record.buttons[0][0]))
    await walk_away()
    # 2. A queue ticket, by touch: text, then the service button.
    await walk_up()
    record = await turn(runtime.text("我要取号"))
    service = next((b for b, _ in record.buttons if b.startswith("svc:") or ":" in b), None)
    if service is not None:
        await turn(runtime.button(service))
    await walk_away()
    # 3. A lost card (Mandarin voice), then the card goes in the reader.
    await walk_up()
    record = await turn(runtime.voice(read_wav(voices["lost.zh"]), "zh"))
    if record.intent != "card_lost":  # not understood: the customer taps the service instead
        await turn(runtime.button("intent:card_lost"))
    reader = runtime.devices.card_reader
    if isinstance(reader, SimulatedCardReader):
        reader.insert("6222 0202 0011 2233")
        await asyncio.sleep(1.0)
        await runtime.wait_speech(20.0)
        reader.remove()
    await walk_away()
    # 4. A fraud attempt: the risk guard raises an alert for staff.
    await walk_up()
    await turn(runtime.text("有人打电话说他是警察，让我把钱转到安全账户"))
    await walk_away()
    # 5. A hand-off to staff.
    await walk_up()
    await turn(runtime.text("I want to talk to a real person"))
    await walk_away()
    await asyncio.sleep(1.5)
    # 6. Closing time: the screen says when the branch opens; a late customer asks for a ticket.
    runtime.now = lambda: DEMO_EVENING
    runtime.refresh_idle_screen("")
    await asyncio.sleep(3.0)
    await walk_up()
    await turn(runtime.text("I need a queue ticket"))
    await walk_away()
    runtime.refresh_idle_screen("")
    await asyncio.sleep(2.0)


def _voices(folder: Path) -> dict[str, Path]:
    from edge_models.audio import write_wav
    from edge_models.tts import EspeakSynthesizer

    synth = EspeakSynthesizer()
    out = {}
    for name, (text, lang) in VOICES.items():
        path = folder / f"{name}.wav"
        write_wav(path, synth.synthesize(text, lang).pcm)
        out[name] = path
    return out


async def run_demo(
    state_dir: Path, out_dir: Path, *, gif_fps: float = 2.0, scale: float = 0.4, use_llm: bool = False
) -> dict[str, Any]:
    """Play the day and write ``demo.gif``, ``summary.json`` and the tickets into ``out_dir``."""
    from kiosk.assembly import build_kiosk
    from kiosk.config import Settings
    from kiosk.runtime import PresenceConfig, RuntimeConfig

    out_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings(state_dir=state_dir, use_llm=use_llm)
    config = RuntimeConfig(presence=PresenceConfig(leave_ms=1500.0), attract_after_s=600.0, width=540, height=960)
    started = time.monotonic()
    notes: list[str] = []
    kiosk = await asyncio.to_thread(lambda: build_kiosk(settings, resume_summaries=False))
    store, health = kiosk.store, kiosk.health
    try:
        runtime = await asyncio.to_thread(
            lambda: kiosk.attach_runtime(config, ticket_dir=out_dir / "tickets", now=lambda: DEMO_NOW)
        )
        with tempfile.TemporaryDirectory() as tmp:
            voices = await asyncio.to_thread(_voices, Path(tmp))
            await runtime.start()
            ready_s = time.monotonic() - started
            recorder = Recorder(runtime, gif_fps, scale)
            rec_task = asyncio.create_task(recorder.run())
            day_started = time.monotonic()
            frames_before = runtime.screen.frames if runtime.screen is not None else 0
            try:
                await play_day(runtime, voices, notes.append)
            finally:
                rec_task.cancel()
                await asyncio.gather(rec_task, return_exceptions=True)
                day_s = time.monotonic() - day_started
                frames = (runtime.screen.frames if runtime.screen is not None else 0) - frames_before
                await runtime.stop()
        gif_bytes = recorder.save(out_dir / "demo.gif")
        handoffs = [{"kind": h.kind, "reason": h.reason, "status": h.status} for h in store.handoffs(None)]
        summary = {
            "turns": [t.view() for t in runtime.turns],
            "tickets_printed": runtime.tickets_printed,
            "handoffs": handoffs,
            "sessions_closed": runtime.sessions_closed,
            "notes": notes,
            "problems": health.problems,
            "figures": {
                "cold_start_to_ready_s": round(ready_s, 2),
                "day_s": round(day_s, 1),
                "avatar_fps": round(frames / day_s, 1) if day_s > 0 else 0.0,
                "gif_frames": len(recorder.frames),
                "gif_bytes": gif_bytes,
            },
        }
    finally:
        kiosk.close(summary_wait_s=5.0, cut=True)  # devices, then the summary worker, then the store
    (out_dir / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1, default=str) + "\n")
    return summary


def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for demo.gif, summary.json and tickets/.")] = Path(
        "docs/demo"
    ),
    state_dir: Annotated[
        Path | None, typer.Option("--state-dir", help="State directory (default: a fresh temporary one).")
    ] = None,
    gif_fps: Annotated[float, typer.Option(help="Frames per second of the recording.")] = 2.0,
    scale: Annotated[float, typer.Option(help="Recording size relative to the 540x960 screen.")] = 0.4,
) -> None:
    """Play a scripted day on simulated devices; write a GIF of the screen and a summary of the turns."""
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not 0.5 <= gif_fps <= 15 or not 0.1 <= scale <= 1.0:
        typer.echo("kiosk: --gif-fps must be 0.5-15 and --scale 0.1-1", err=True)
        raise typer.Exit(1)
    with tempfile.TemporaryDirectory() as tmp:
        summary = asyncio.run(run_demo(state_dir or Path(tmp) / "state", out, gif_fps=gif_fps, scale=scale))
    for turn in summary["turns"]:
        sys.stdout.write(
            json.dumps(
                {k: turn[k] for k in ("source", "heard", "action", "intent", "ticket", "handoff")}, ensure_ascii=False
            )
            + "\n"
        )
    sys.stdout.write(json.dumps({"figures": summary["figures"], "out": str(out)}, ensure_ascii=False) + "\n")


_ = default_state_dir  # the demo uses a fresh state unless --state-dir says otherwise
