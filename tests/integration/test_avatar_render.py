"""The real pygame renderer, headless: frames are drawn and their pixels checked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

from avatar import art
from avatar.animation import Animator, AvatarState, Pose, with_eyes
from avatar.errors import AssetError
from avatar.layout import Rect, ScreenModel
from avatar.lipsync import VISEME_SHAPES
from avatar.playback import render_reply
from avatar.render import Renderer

KIOSK = Path(sys.executable).parent / "kiosk"
SIZE = (540, 960)


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(SIZE)


def still_pose() -> Pose:
    """A pose without head motion, so regions line up between frames."""
    pose = Animator(seed=1).advance(0.0)
    return replace(pose, head_x=0.0, head_y=0.0, breath=0.0, eye_open=1.0)


def pixels(renderer: Renderer) -> np.ndarray:
    w, h = renderer.size
    return np.frombuffer(renderer.rgb_bytes(), dtype=np.uint8).reshape(h, w, 3).astype(np.int16)


def region(renderer: Renderer, unit_box: tuple[float, float, float, float]) -> tuple[slice, slice]:
    """Screen slices of a box in avatar units (x0, y0, x1, y1), with the head at rest."""
    layers = renderer._art(renderer.layout, False)
    s = layers["scale"]
    ox, oy = layers["origin"]
    x0, y0, x1, y1 = unit_box
    return slice(int(oy + y0 * s), int(oy + y1 * s)), slice(int(ox + x0 * s), int(ox + x1 * s))


MOUTH = (430.0, 560.0, 570.0, 640.0)
LEFT_EYE = (art.FACE.centre_x - 68 - 45, 420.0, art.FACE.centre_x - 68 + 45, 485.0)


def draw(renderer: Renderer, pose: Pose, screen: ScreenModel | None = None) -> np.ndarray:
    renderer.draw(pose, screen or ScreenModel())
    return pixels(renderer)


@pytest.mark.parametrize(
    ("a", "b"), [("X", "D"), ("A", "E"), ("F", "C")], ids=["rest-wide", "closed-round", "pucker-open"]
)
def test_mouth_region_changes_with_visemes(renderer: Renderer, a: str, b: str) -> None:
    base = still_pose()
    img_a = draw(renderer, replace(base, mouth=VISEME_SHAPES[a]))  # type: ignore[index]
    img_b = draw(renderer, replace(base, mouth=VISEME_SHAPES[b]))  # type: ignore[index]
    ys, xs = region(renderer, MOUTH)
    changed = np.abs(img_a[ys, xs] - img_b[ys, xs]).sum(axis=2) > 40
    assert changed.sum() > 40, "mouth did not change"
    outside = np.abs(img_a - img_b).sum(axis=2) > 40
    outside[ys, xs] = False
    assert outside.sum() == 0, "pixels outside the mouth changed"


def test_open_mouth_shows_a_dark_opening(renderer: Renderer) -> None:
    base = still_pose()
    ys, xs = region(renderer, MOUTH)
    closed = draw(renderer, replace(base, mouth=VISEME_SHAPES["A"]))[ys, xs]
    wide = draw(renderer, replace(base, mouth=VISEME_SHAPES["D"]))[ys, xs]
    dark = lambda img: int((img.sum(axis=2) < 250).sum())  # noqa: E731
    assert dark(wide) > dark(closed) + 30


def test_eyes_close_on_a_blink(renderer: Renderer) -> None:
    base = still_pose()
    ys, xs = region(renderer, LEFT_EYE)
    open_eye = draw(renderer, with_eyes(base, 1.0))[ys, xs]
    shut_eye = draw(renderer, with_eyes(base, 0.0))[ys, xs]
    white = lambda img: int(((img > 235).all(axis=2)).sum())  # noqa: E731
    iris = lambda img: int(((img[..., 0] < 130) & (img[..., 0] > 80) & (img[..., 2] < 70)).sum())  # noqa: E731
    assert white(open_eye) > 50
    assert white(shut_eye) < white(open_eye) * 0.1
    assert iris(shut_eye) < iris(open_eye) * 0.2


def test_gaze_moves_the_iris(renderer: Renderer) -> None:
    base = still_pose()
    ys, xs = region(renderer, LEFT_EYE)
    left = draw(renderer, replace(base, gaze_x=-1.0))[ys, xs]
    right = draw(renderer, replace(base, gaze_x=1.0))[ys, xs]

    def iris_x(img: np.ndarray) -> float:
        mask = img.sum(axis=2) < 200
        return float(np.nonzero(mask)[1].mean())

    assert iris_x(right) > iris_x(left) + 3


def dark_pixels(img: np.ndarray, rect: Rect, below: int = 300) -> int:
    x, y, w, h = rect
    return int((img[y : y + h, x : x + w].sum(axis=2) < below).sum())


@pytest.mark.parametrize(
    ("lang", "said"),
    [("zh", "您好，请问您需要办理什么业务？"), ("en", "Hello! I can help with queue tickets and exchange rates.")],
    ids=["chinese", "english"],
)
def test_subtitles_are_drawn(renderer: Renderer, lang: str, said: str) -> None:
    pose = still_pose()
    blank = draw(renderer, pose, ScreenModel(lang=lang))  # type: ignore[arg-type]
    sub = renderer.layout.subtitles
    shown = draw(renderer, pose, ScreenModel(lang=lang, said=said))  # type: ignore[arg-type]
    assert dark_pixels(shown, sub) > dark_pixels(blank, sub) + 300


def test_heard_text_and_buttons_are_drawn(renderer: Renderer) -> None:
    pose = still_pose()
    screen = ScreenModel(lang="zh", heard="我的卡丢了", buttons=(("intent:card_lost", "挂失"), ("handoff", "人工")))
    img = draw(renderer, pose, screen)
    assert len(renderer.layout.buttons) == 2
    for rect in renderer.layout.buttons:
        assert dark_pixels(img, rect) > 30
    assert dark_pixels(img, renderer.layout.subtitles, below=450) > 100
    # The staff button is always there and red.
    x, y, _w, h = renderer.layout.staff_button
    centre_left = img[y + h // 2, x + h // 2]
    assert centre_left[0] > 150 > centre_left[1]


def test_elderly_mode_uses_larger_text(renderer: Renderer) -> None:
    pose = still_pose()
    said = "您好，请问您需要办理什么业务？"
    normal = draw(renderer, pose, ScreenModel(said=said))
    normal_ink = dark_pixels(normal, renderer.layout.subtitles)
    large = draw(renderer, pose, ScreenModel(said=said, elderly=True))
    assert dark_pixels(large, renderer.layout.subtitles) > normal_ink * 1.3


@pytest.mark.parametrize("state", list(AvatarState), ids=[s.value for s in AvatarState])
def test_every_state_renders_a_face(renderer: Renderer, state: AvatarState) -> None:
    animator = Animator(seed=4)
    animator.set_state(state)
    pose = animator.advance(500)
    img = draw(renderer, pose, ScreenModel(lang="en"))
    ys, xs = region(renderer, (380.0, 300.0, 620.0, 620.0))
    skin = (np.abs(img[ys, xs] - np.array([246, 211, 189])).sum(axis=2) < 60).mean()
    assert skin > 0.4


def test_render_reply_follows_the_timeline(renderer: Renderer, tmp_path: Path) -> None:
    stats = render_reply(renderer, "您好，欢迎光临！", "zh", out_dir=tmp_path, every=5)
    assert stats.frames == len(stats.frame_ms) > 30
    assert stats.sync.missed == 0
    assert stats.sync.p95_ms < 40
    saved = sorted(tmp_path.glob("frame_*.png"))
    assert len(saved) == (stats.frames + 4) // 5


def test_missing_font_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AssetError, match="font not found"):
        Renderer(SIZE, font_path=tmp_path / "none.ttc")


def test_frame_encodes_as_png_and_jpeg(renderer: Renderer) -> None:
    draw(renderer, still_pose())
    assert renderer.encode("png").startswith(b"\x89PNG")
    assert renderer.encode("jpeg", scale=0.5).startswith(b"\xff\xd8")
    with pytest.raises(ValueError, match="format"):
        renderer.encode("gif")


def test_cli_render_prints_figures_and_writes_frames(tmp_path: Path) -> None:
    out = tmp_path / "frames"
    done = subprocess.run(
        [
            str(KIOSK),
            "avatar",
            "render",
            "--say",
            "Hello, welcome!",
            "--lang",
            "en",
            "--out",
            str(out),
            "--size",
            "540x960",
            "--every",
            "10",
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    result = json.loads(done.stdout)
    assert result["frames"] > 20
    assert result["mean_frame_ms"] > 0
    assert result["p95_frame_ms"] > 0  # figures, not goals: a full redraw then partial ones make any ratio possible
    assert result["lipsync"]["p95_offset_ms"] < 40
    assert result["lipsync"]["missed"] == 0
    assert len(list(out.glob("*.png"))) == (result["frames"] + 9) // 10


@pytest.mark.parametrize(
    "args",
    [
        ["--say", "hi", "--size", "big"],
        ["--say", "hi", "--lang", "fr"],
        ["--say", "hi", "--emotion", "angry"],
        ["--say", "  "],
    ],
    ids=["bad-size", "bad-lang", "bad-emotion", "empty-text"],
)
def test_cli_render_rejects_bad_options(args: list[str]) -> None:
    done = subprocess.run([str(KIOSK), "avatar", "render", *args], capture_output=True, timeout=60, check=False)
    assert done.returncode != 0
    assert done.stderr


@pytest.mark.parametrize("size", [SIZE, (1080, 1920)], ids=["540x960", "1080x1920"])
def test_frames_redrawn_in_part_equal_frames_drawn_whole(size: tuple[int, int]) -> None:
    """Between screen changes only the avatar and its status are redrawn; every frame still equals a whole one."""
    partial, whole = Renderer(size), Renderer(size)
    animator = Animator(seed=3)
    screens = [
        ScreenModel(lang="zh", said="您好，请问办理什么业务？"),
        ScreenModel(lang="zh", said="您好，请问办理什么业务？", heard="我要取号", buttons=(("ticket", "取号"),)),
        ScreenModel(lang="en", said="Here is your ticket.", elderly=True),
    ]
    states = [AvatarState.IDLE, AvatarState.LISTENING, AvatarState.THINKING, AvatarState.SPEAKING]
    frames = 0
    for n in range(36):
        pose = replace(animator.advance(33.0), state=states[n // 3 % len(states)])
        screen = screens[n // 12]
        whole._ui_key = None  # drawn whole every time
        a = partial.draw(pose, screen, n * 33.0)
        b = whole.draw(pose, screen, n * 33.0)
        assert a.get_view("2").raw == b.get_view("2").raw, f"frame {n} differs"
        frames += 1
    assert whole.full_redraws == frames
    assert partial.full_redraws == len(screens)  # once per screen change, never for the avatar's motion
