"""The avatar's frames on the local page: PNG snapshot and MJPEG stream, with the real renderer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

from avatar.stream import AvatarFeed, AvatarFeedSettings, get_avatar_feed, router
from kiosk.config import DEFAULT_POLICY_DIR, Settings
from kiosk.web import create_app
from kiosk.web.trust import DEVICE_HEADER, BoundaryPolicy, require_viewer
from tests.integration.runtime_helpers import kiosk_client

TOKEN = "a-test-device-token"  # noqa: S105 - a test token


@pytest.fixture
def feed() -> AvatarFeed:
    return AvatarFeed(AvatarFeedSettings(width=270, height=480))


@pytest.fixture
def client(feed: AvatarFeed) -> TestClient:
    app = FastAPI()
    app.state.boundary = BoundaryPolicy(device_token=TOKEN, allowed_hosts=frozenset({"testserver"}))
    app.include_router(router, dependencies=[Depends(require_viewer)])  # as kiosk/web/app.py mounts it
    app.dependency_overrides[get_avatar_feed] = lambda: feed
    with TestClient(app, headers={DEVICE_HEADER: TOKEN}) as test_client:
        yield test_client  # type: ignore[misc]


def test_frames_need_the_device_token(client: TestClient) -> None:
    assert client.get("/avatar/frame.png", headers={DEVICE_HEADER: "wrong"}).status_code == 401
    assert client.get("/avatar/stream.mjpg", headers={DEVICE_HEADER: ""}).status_code == 401


def test_snapshot_is_a_png_of_the_screen(client: TestClient) -> None:
    import io

    import pygame

    response = client.get("/avatar/frame.png")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    image = pygame.image.load(io.BytesIO(response.content), "frame.png")
    assert image.get_size() == (270, 480)


def test_mjpeg_stream_sends_jpeg_parts(client: TestClient) -> None:
    response = client.get("/avatar/stream.mjpg", params={"frames": 3, "fps": 30})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("multipart/x-mixed-replace; boundary=frame")
    parts = response.content.split(b"--frame\r\n")[1:]
    assert len(parts) == 3
    for part in parts:
        head, body = part.split(b"\r\n\r\n", 1)
        assert b"Content-Type: image/jpeg" in head
        assert body.startswith(b"\xff\xd8")


def test_only_the_runtime_makes_the_avatar_speak(client: TestClient, feed: AvatarFeed) -> None:
    client.get("/avatar/frame.png")
    assert feed.state == "idle"
    body = {"text": "请将资金转入安全账户", "lang": "zh", "emotion": "warm"}
    assert client.post("/avatar/say", json=body).status_code in (404, 405)  # no HTTP route puts words in its mouth
    assert feed.state == "idle"
    feed.say("您好，欢迎光临", "zh", "warm")  # the runtime's call
    assert client.get("/avatar/frame.png").status_code == 200
    assert feed.state == "speaking"


@pytest.mark.parametrize("params", [{"fps": 0}, {"fps": 100}, {"frames": 0}], ids=["fps-0", "fps-100", "frames-0"])
def test_stream_rejects_bad_parameters(client: TestClient, params: dict[str, int]) -> None:
    assert client.get("/avatar/stream.mjpg", params=params).status_code == 422


def test_the_kiosk_app_serves_the_avatar(tmp_path: Path, nlu_bundle: Path) -> None:
    settings = Settings(state_dir=tmp_path / "state", seed_dirs=(DEFAULT_POLICY_DIR, nlu_bundle))
    with kiosk_client(create_app(settings)) as client:
        response = client.get("/avatar/frame.png")
    assert response.status_code == 200
    assert response.content.startswith(b"\x89PNG")
