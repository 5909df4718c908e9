"""``kiosk avatar ...`` and ``kiosk presence``: the digital human and presence from the command line.

pygame, mediapipe and OpenCV are imported inside the commands.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Literal

import typer

avatar_app = typer.Typer(no_args_is_help=True, help="The digital human: render replies and stills headless.")

SizeOption = Annotated[str, typer.Option("--size", help="Screen size WIDTHxHEIGHT (portrait 1080x1920 default).")]


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError as err:
        raise typer.BadParameter(f"size must be WIDTHxHEIGHT, got {text!r}") from err
    if not (240 <= w <= 8192 and 240 <= h <= 8192):
        raise typer.BadParameter(f"size {w}x{h} is out of range (240..8192)")
    return w, h


def _headless() -> None:
    """Draw off-screen without a display or a sound card."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")


def _lang(value: str) -> Literal["zh", "en"]:
    if value not in ("zh", "en"):
        raise typer.BadParameter("lang must be 'zh' or 'en'")
    return "zh" if value == "zh" else "en"


@avatar_app.command("render")
def render(
    *,
    say: Annotated[str, typer.Option("--say", help="What the avatar says.")],
    lang: Annotated[str, typer.Option("--lang", help="zh or en.")] = "zh",
    out: Annotated[Path | None, typer.Option("--out", help="Folder for the frames (PNG); none: render only.")] = None,
    emotion: Annotated[str, typer.Option(help="neutral, warm, concerned, apologetic or happy.")] = "warm",
    fps: Annotated[float, typer.Option(min=1, max=120, help="Frames per second.")] = 30.0,
    every: Annotated[int, typer.Option(min=1, help="Save one frame in EVERY.")] = 1,
    size: SizeOption = "1080x1920",
    elderly: Annotated[bool, typer.Option(help="Elderly-friendly mode: larger text, slower speech.")] = False,
) -> None:
    """Render the frames of a spoken reply headless; print JSON figures (frame times, lip-sync offsets)."""
    from avatar.animation import EMOTIONS

    if emotion not in EMOTIONS:
        raise typer.BadParameter(f"emotion must be one of {', '.join(EMOTIONS)}")
    if not say.strip():
        raise typer.BadParameter("--say is empty")
    _headless()
    from avatar.errors import AvatarError
    from avatar.playback import render_reply
    from avatar.render import Renderer

    try:
        renderer = Renderer(_size(size))
        stats = render_reply(
            renderer, say, _lang(lang), emotion=emotion, fps=fps, elderly=elderly, out_dir=out, every=every
        )
    except AvatarError as err:
        typer.echo(f"kiosk: {err}", err=True)
        raise typer.Exit(1) from err
    result = {"size": size, "fps": fps, "out": str(out) if out else None, **stats.summary()}
    typer.echo(json.dumps(result, ensure_ascii=False))


@avatar_app.command("still")
def still(
    *,
    out: Annotated[Path, typer.Argument(help="PNG file to write.")],
    state: Annotated[str, typer.Option(help="idle, attentive, listening, thinking or speaking.")] = "idle",
    emotion: Annotated[str, typer.Option(help="neutral, warm, concerned, apologetic or happy.")] = "neutral",
    say: Annotated[str, typer.Option(help="Subtitle (and, speaking, the mouth shape at --at-ms).")] = "",
    heard: Annotated[str, typer.Option(help="What the kiosk heard.")] = "",
    lang: Annotated[str, typer.Option(help="zh or en.")] = "zh",
    at_ms: Annotated[float, typer.Option(min=0, help="Time into the reply (speaking).")] = 300.0,
    eyes: Annotated[float, typer.Option(min=0, max=1, help="Eye openness (0 closed: a blink).")] = 1.0,
    size: SizeOption = "1080x1920",
    elderly: Annotated[bool, typer.Option(help="Elderly-friendly mode.")] = False,
) -> None:
    """Draw one still of a state and expression (for docs and checks)."""
    from avatar.animation import EMOTIONS, Animator, AvatarState, with_eyes

    if emotion not in EMOTIONS:
        raise typer.BadParameter(f"emotion must be one of {', '.join(EMOTIONS)}")
    try:
        avatar_state = AvatarState(state)
    except ValueError as err:
        raise typer.BadParameter(f"unknown state {state!r}") from err
    _headless()
    from avatar.layout import ScreenModel
    from avatar.lipsync import timeline_from_text
    from avatar.render import Renderer

    code = _lang(lang)
    animator = Animator(seed=3)
    animator.set_emotion(emotion)
    animator.set_state(avatar_state)
    if avatar_state is AvatarState.SPEAKING:
        animator.speak(timeline_from_text(say or "您好", code))
        animator.playback(at_ms)
    pose = with_eyes(animator.advance(1000.0), eyes)
    renderer = Renderer(_size(size))
    renderer.draw(pose, ScreenModel(lang=code, said=say, heard=heard, elderly=elderly), 1000.0)
    out.parent.mkdir(parents=True, exist_ok=True)
    renderer.save(out)
    typer.echo(json.dumps({"out": str(out), "state": state, "emotion": emotion}))


def presence(
    *,
    source: Annotated[Path, typer.Argument(help="An image, a folder of images, or a video file.")],
    interval_ms: Annotated[float, typer.Option(min=1, help="Time between images of a folder.")] = 100.0,
    repeat: Annotated[int, typer.Option(min=1, help="Show each image this many times.")] = 1,
    min_face_width: Annotated[float, typer.Option(min=0.01, max=1, help="Smallest face that counts.")] = 0.12,
    arrive_ms: Annotated[float, typer.Option(min=0, help="Steady this long to arrive.")] = 800.0,
    leave_ms: Annotated[float, typer.Option(min=0, help="Gone this long to leave.")] = 3000.0,
) -> None:
    """Detect faces in a file source and print the presence events as JSON lines."""
    from edge_models.errors import ModelError
    from edge_models.vision import FaceDetector
    from hardware import CameraError, open_source
    from kiosk.runtime import PresenceConfig, PresenceTracker

    config = PresenceConfig(min_face_width=min_face_width, arrive_ms=arrive_ms, leave_ms=leave_ms)
    tracker = PresenceTracker(config)
    try:
        camera = open_source(source, interval_ms=interval_ms, repeat=repeat)
        detector = FaceDetector()
    except (CameraError, ModelError) as err:
        typer.echo(f"kiosk: {err}", err=True)
        raise typer.Exit(1) from err
    last_t: float | None = None
    frames = 0
    failures = 0
    with camera:
        while failures < 50:
            try:
                frame = camera.read()
            except CameraError as err:
                typer.echo(json.dumps({"error": str(err), "frame": frames}, ensure_ascii=False))
                frames += 1
                failures += 1
                continue
            failures = 0
            if frame is None:
                break
            frames += 1
            faces = detector.detect(frame.rgb)
            dt = 0.0 if last_t is None else max(0.0, frame.t_ms - last_t)
            last_t = frame.t_ms
            for event in tracker.update(faces, dt):
                typer.echo(json.dumps({**event.model_dump(mode="json"), "frame": frame.source}, ensure_ascii=False))
    detector.close()
    typer.echo(json.dumps({"frames": frames, "present": tracker.present}))


def register(app: typer.Typer) -> None:
    """Add ``kiosk avatar ...`` and ``kiosk presence`` to the main command."""
    app.add_typer(avatar_app, name="avatar")
    app.command("presence")(presence)
