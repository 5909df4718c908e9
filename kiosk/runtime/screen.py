"""The live kiosk screen: the avatar drawn at a steady frame rate by the runtime, streamed to the page.

It is an :class:`~avatar.stream.AvatarFeed`, so the existing
``/avatar/frame.png`` and ``/avatar/stream.mjpg`` routes serve it; unlike
the plain feed, frames are drawn by the runtime's render loop (``tick``)
and a viewer only encodes the latest one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Literal

from avatar.stream import AvatarFeed, AvatarFeedSettings

Lang = Literal["zh", "en"]

ATTRACT: dict[Lang, str] = {
    "zh": "欢迎光临！请走近屏幕或点击开始，我可以帮您取号、查汇率、挂失银行卡。",
    "en": "Welcome! Step closer or tap to start: queue tickets, exchange rates, lost cards.",
}
CLOSED: dict[Lang, str] = {  # when the runtime has no hours to say when the branch opens
    "zh": "本网点现在不营业。",
    "en": "The branch is closed now.",
}


class LiveScreen(AvatarFeed):
    """The kiosk's screen: animator + renderer + what is shown, drawn by :meth:`tick`.

    Args:
        width: Screen width.
        height: Screen height.
        fps: Frame rate of the render loop (used to schedule lip sync).
        clock: Monotonic seconds.
    """

    def __init__(
        self, width: int = 540, height: int = 960, fps: float = 15.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(AvatarFeedSettings(width=width, height=height, max_fps=min(60.0, fps)))
        self.fps = fps
        self._clock = clock
        self._tick_lock = threading.Lock()
        self.frames = 0
        self.draw_ms = 0.0
        self.mode = "serving"
        self._attract_lang: Lang = "zh"

    # -- what is shown (thread-safe) --------------------------------------
    def show(
        self,
        *,
        lang: Lang | None = None,
        said: str | None = None,
        heard: str | None = None,
        buttons: tuple[tuple[str, str], ...] | None = None,
        state: str | None = None,
        emotion: str | None = None,
        gaze: tuple[float, float] | Literal["keep"] | None = "keep",
        elderly: bool | None = None,
    ) -> None:
        """Change what the screen shows; None keeps a field as it is."""
        from dataclasses import replace

        from avatar.animation import AvatarState

        with self._lock:
            self._ensure()
            s = self._screen
            self._screen = replace(
                s,
                lang=lang or s.lang,
                said=s.said if said is None else said,
                heard=s.heard if heard is None else heard,
                buttons=s.buttons if buttons is None else buttons,
                elderly=s.elderly if elderly is None else elderly,
            )
            if state is not None:
                self._animator.set_state(AvatarState(state))
            if emotion is not None:
                self._animator.set_emotion(emotion)
            if gaze != "keep":
                self._animator.look_at(gaze)

    def speak(self, timeline: Any, text: str, lang: Lang, emotion: str, buttons: tuple[tuple[str, str], ...]) -> float:
        """Lip-sync ``timeline`` from now; returns the clock time (s) its position 0 is drawn for.

        Each frame is drawn ahead of the audio by the draw time plus half a frame (it is shown
        while the audio moves on), as ``scripts/bench_avatar.py`` measures: so position 0
        lies that much before now.
        """
        from avatar.layout import ScreenModel

        with self._lock:
            self._ensure()
            self._screen = ScreenModel(
                lang=lang, said=text, heard=self._screen.heard, buttons=buttons, elderly=self._screen.elderly
            )
            self._animator.speak(timeline, emotion=emotion)
            self._started = self._clock() - self.draw_ms / 1000.0 - 0.5 / self.fps
            return self._started

    def stop_speaking(self) -> None:
        """Barge-in: the mouth closes, the avatar listens."""
        from avatar.animation import AvatarState

        with self._lock:
            self._ensure()
            self._animator.set_state(AvatarState.LISTENING)

    def reset(self, mode: str = "serving", lang: Lang = "zh", text: str | None = None) -> None:
        """A blank screen after a session (privacy: nothing of the customer stays); attract or closed text.

        Args:
            mode: 'serving' (blank), 'attract' or 'closed'.
            lang: Language of the text.
            text: The text to show instead of the mode's default (e.g. when the branch opens next).
        """
        from avatar.animation import AvatarState
        from avatar.layout import ScreenModel

        if text is None:
            text = ATTRACT[lang] if mode == "attract" else CLOSED[lang] if mode == "closed" else ""
        with self._lock:
            self._ensure()
            self.mode = mode
            self._screen = ScreenModel(lang=lang, said=text)
            self._animator.set_state(AvatarState.IDLE)
            self._animator.set_emotion("warm" if mode == "attract" else "neutral")
            self._animator.look_at(None)

    def attract_step(self) -> None:
        """Alternate the attract text's language (called every few seconds while idle)."""
        self._attract_lang = "en" if self._attract_lang == "zh" else "zh"
        self.reset("attract", self._attract_lang)

    @property
    def screen(self) -> Any:
        """The current :class:`avatar.layout.ScreenModel`."""
        with self._lock:
            self._ensure()
            return self._screen

    # -- drawing ------------------------------------------------------------
    def tick(self) -> None:
        """Advance the animation by the real elapsed time and draw one frame (blocking: off the loop)."""
        with self._lock:
            self._ensure()
            now = self._clock()
            dt = 0.0 if self._last is None else min((now - self._last) * 1000.0, 1000.0)
            self._last = now
            if self._animator.track is not None:
                self._animator.playback((now - self._started) * 1000.0)
            pose = self._animator.advance(dt)
            started = time.perf_counter()
            self._renderer.draw(pose, self._screen, self._animator.t_ms)
            self.draw_ms = (time.perf_counter() - started) * 1000.0
            self.frames += 1

    def frame(self, fmt: Literal["png", "jpeg"] = "jpeg", scale: float = 1.0) -> bytes:
        """The latest drawn frame, encoded (blocking: off the loop). Draws one if none was drawn yet."""
        if self.frames == 0:
            self.tick()
        with self._lock:
            return bytes(self._renderer.encode(fmt, scale))

    def rgb(self, scale: float = 1.0) -> tuple[bytes, tuple[int, int]]:
        """The latest frame as raw RGB bytes and its size (for the demo recording)."""
        with self._lock:
            self._ensure()
            pg = self._renderer._pg
            surf = self._renderer.surface
            if scale != 1.0:
                w, h = surf.get_size()
                surf = pg.transform.smoothscale(surf, (round(w * scale), round(h * scale)))
            return bytes(pg.image.tobytes(surf, "RGB")), surf.get_size()
