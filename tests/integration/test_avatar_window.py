"""The avatar in a real window: an X server (Xvfb) started by the test, SDL's x11 driver."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

SCRIPT = """
import json, sys
import numpy as np
import pygame
from dataclasses import replace
from avatar.animation import Animator
from avatar.layout import ScreenModel
from avatar.render import Renderer

renderer = Renderer((270, 480), window=True)
pose = replace(Animator(seed=1).advance(0.0), head_x=0.0, head_y=0.0, breath=0.0)
drawn = renderer.draw(pose, ScreenModel(lang="en", said="Welcome to Demo Bank"))
shown = pygame.display.get_surface()
a = pygame.surfarray.array3d(drawn).astype(int)
b = pygame.surfarray.array3d(shown).astype(int)
print(json.dumps({
    "driver": pygame.display.get_driver(),
    "size": list(shown.get_size()),
    "same": bool(np.abs(a - b).max() <= 2),
    "colours": int(len(np.unique(b.reshape(-1, 3), axis=0))),
}))
"""


@pytest.fixture
def display(tmp_path: Path) -> Iterator[str]:
    xvfb = shutil.which("Xvfb")
    assert xvfb is not None, "Xvfb is installed by scripts/setup.sh (apt package xvfb)"
    number = f":{40 + os.getpid() % 50}"
    proc = subprocess.Popen([xvfb, number, "-screen", "0", "640x960x24", "-nolisten", "tcp"], stderr=subprocess.DEVNULL)
    socket = Path(f"/tmp/.X11-unix/X{number[1:]}")
    deadline = time.monotonic() + 20
    while not socket.exists():
        assert proc.poll() is None, "Xvfb exited"
        assert time.monotonic() < deadline, "Xvfb did not start"
        time.sleep(0.1)
    yield number
    proc.terminate()
    proc.wait(timeout=10)


def test_renders_into_a_real_x11_window(display: str) -> None:
    env = {**os.environ, "DISPLAY": display, "SDL_VIDEODRIVER": "x11", "SDL_AUDIODRIVER": "dummy"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["driver"] == "x11"
    assert result["size"] == [270, 480]
    assert result["same"]  # the window shows the frame the renderer drew
    assert result["colours"] > 50  # a drawn face, not an empty window
