"""The avatar's current frame on the local page: a PNG snapshot and a live MJPEG stream.

Staff and a headless demo watch the digital human here. The feed draws a
frame on request (off the event loop, one lock for the renderer) and moves
the animation on by the real time elapsed since the last frame; pygame is
imported only when the first frame is drawn.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

BOUNDARY = "frame"
# Frames show what the customer is doing: the kiosk screen (device token) or signed-in staff only;
# the app that mounts the router adds that check (kiosk/web/app.py: kiosk.web.trust.require_viewer).
# There is no HTTP route to make the avatar speak: only the runtime puts words in its mouth
# (docs/adr/0008-customer-side-trust-boundary.md).
router = APIRouter(prefix="/avatar", tags=["avatar"])


class AvatarFeedSettings(BaseModel):
    """How the avatar is streamed."""

    model_config = ConfigDict(frozen=True)

    width: int = Field(default=540, ge=240, le=2160, description="Width of the streamed frames.")
    height: int = Field(default=960, ge=240, le=3840, description="Height of the streamed frames.")
    max_fps: float = Field(default=15.0, gt=0, le=60, description="Highest frame rate of the MJPEG stream.")


class AvatarFeed:
    """One animated avatar shared by every viewer of the page."""

    def __init__(self, settings: AvatarFeedSettings | None = None) -> None:
        """Prepare the feed; the renderer starts with the first frame."""
        self.settings = settings or AvatarFeedSettings()
        self._lock = threading.Lock()
        self._renderer: Any = None
        self._animator: Any = None
        self._screen: Any = None
        self._last: float | None = None
        self._started = 0.0

    def _ensure(self) -> None:
        if self._renderer is None:
            from avatar.animation import Animator
            from avatar.layout import ScreenModel
            from avatar.render import Renderer

            self._renderer = Renderer((self.settings.width, self.settings.height))
            self._animator = Animator()
            self._screen = ScreenModel()

    def say(self, text: str, lang: Literal["zh", "en"], emotion: str = "neutral") -> None:
        """Show and lip-sync a reply (timeline from the text until TTS gives one)."""
        from avatar.layout import ScreenModel
        from avatar.lipsync import timeline_from_text

        with self._lock:
            self._ensure()
            self._screen = ScreenModel(lang=lang, said=text, elderly=self._screen.elderly)
            self._animator.speak(timeline_from_text(text, lang), emotion=emotion)
            self._started = time.monotonic()

    @property
    def state(self) -> str:
        """What the streamed avatar is doing (idle before the first frame)."""
        return "idle" if self._animator is None else str(self._animator.state)

    def frame(self, fmt: Literal["png", "jpeg"] = "jpeg") -> bytes:
        """Draw the current frame and encode it (blocking: call it off the event loop)."""
        with self._lock:
            self._ensure()
            now = time.monotonic()
            dt = 0.0 if self._last is None else min((now - self._last) * 1000.0, 1000.0)
            self._last = now
            if self._animator.track is not None:
                self._animator.playback((now - self._started) * 1000.0)
            pose = self._animator.advance(dt)
            self._renderer.draw(pose, self._screen, self._animator.t_ms)
            return bytes(self._renderer.encode(fmt))


def get_avatar_feed(request: Request) -> AvatarFeed:
    """The app's avatar feed, created with the first viewer."""
    feed = getattr(request.app.state, "avatar_feed", None)
    if feed is None:
        feed = AvatarFeed()
        request.app.state.avatar_feed = feed
    return feed


FeedDep = Annotated[AvatarFeed, Depends(get_avatar_feed)]


@router.get("/frame.png")
async def frame_png(feed: FeedDep) -> Response:
    """The current frame as a PNG image."""
    data = await anyio.to_thread.run_sync(lambda: feed.frame("png"))
    return Response(content=data, media_type="image/png")


@router.get("/stream.mjpg")
async def stream(
    feed: FeedDep,
    fps: Annotated[float, Query(ge=0.2, le=60, description="Frames per second (a frame at least every 5 s).")] = 10.0,
    frames: Annotated[int | None, Query(ge=1, description="Stop after this many frames.")] = None,
) -> StreamingResponse:
    """A live MJPEG stream of the avatar (``<img src="/avatar/stream.mjpg">``)."""
    interval = 1.0 / min(fps, feed.settings.max_fps)

    async def parts() -> AsyncIterator[bytes]:
        sent = 0
        while frames is None or sent < frames:
            started = time.monotonic()
            data = await anyio.to_thread.run_sync(lambda: feed.frame("jpeg"))
            yield (
                f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(data)}\r\n\r\n".encode()
                + data
                + b"\r\n"
            )
            sent += 1
            await anyio.sleep(max(0.0, interval - (time.monotonic() - started)))

    return StreamingResponse(parts(), media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}")
