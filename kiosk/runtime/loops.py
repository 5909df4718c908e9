"""The supervised loops: render, camera presence, card reader, idle screen (restarted with back-off on a crash)."""

from __future__ import annotations

import asyncio
import functools
import time
from typing import TYPE_CHECKING, Any, Literal

from kiosk.runtime.listening import Listening
from kiosk.runtime.presence import PresenceEvent
from kiosk.runtime.stages import RuntimeStageError

if TYPE_CHECKING:
    pass


Lang = Literal["zh", "en"]


def next_frame(due: float, now: float, interval: float) -> tuple[float, float]:
    """When the next frame is due and how long to sleep until then, on a fixed schedule.

    Frames are due every ``interval`` from the first one, so a late wake-up (a busy event loop or
    CPU) is made up on the next frame instead of adding to every frame period; more than one frame
    behind, the schedule starts again from now (no burst of frames to catch up).

    Args:
        due: When the frame just drawn was due (monotonic seconds).
        now: The time now.
        interval: Seconds per frame.
    """
    due += interval
    if now - due > interval:
        due = now
    return due, max(0.0, due - now)


class Loops(Listening):
    """The long-lived loops the supervisor runs: render, camera presence, card reader, idle screen."""

    async def _render_loop(self) -> None:
        screen = self.screen
        if screen is None:
            return
        interval = 1.0 / self.config.fps
        due = time.monotonic()
        while True:
            await asyncio.to_thread(screen.tick)
            due, wait = next_frame(due, time.monotonic(), interval)
            await asyncio.sleep(wait)

    async def _camera_loop(self) -> None:
        camera, detector = self.devices.camera, self.detector
        if camera is None or detector is None:
            return
        interval = 1.0 / self.config.camera_fps
        last = time.monotonic()
        while True:
            started = time.monotonic()
            frame = await asyncio.to_thread(camera.read)
            if frame is None:  # a file source ran out: nobody there from now on
                faces: tuple[Any, ...] = ()
            else:
                try:
                    faces = await self._stage("presence", functools.partial(detector.detect, frame.rgb))
                except RuntimeStageError:
                    faces = ()
                del frame  # frames are never stored
            now = time.monotonic()
            for event in self.presence.update(faces, (now - last) * 1000.0):
                await self._presence(event)
            last = now
            if self.screen is not None and self.session_id is not None:
                self.screen.show(gaze=self.presence.gaze_target)
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))

    async def _presence(self, event: PresenceEvent) -> None:
        self._log(f"presence_{event.kind}")
        if event.kind == "arrived":
            gaze = (event.x, event.y) if event.x is not None and event.y is not None else None
            await self.arrive(gaze=gaze)
        else:
            await self.end_session("left")

    async def _card_loop(self) -> None:
        reader = self.devices.card_reader
        if reader is None:
            return
        while True:
            event = await asyncio.to_thread(reader.next_event, 0.5)
            if event is None:
                continue
            self._log(f"card_{event.kind}", card=event.masked)
            if event.kind == "inserted":
                if self.session_id is None:
                    await self.arrive()
                text = (
                    f"已读取您的银行卡 {event.masked}。请问需要办理什么业务？"
                    if self.lang == "zh"
                    else f"Card {event.masked} read. What would you like to do?"
                )
                await self._say(text, self.lang, "warm", ())

    async def _idle_loop(self) -> None:
        shown = ""
        while True:
            shown = self.refresh_idle_screen(shown)
            await asyncio.sleep(4.0)

    def refresh_idle_screen(self, shown: str) -> str:
        """One step of the idle screen (every few seconds): attract loop, out-of-hours text, or blank.

        Args:
            shown: The mode shown after the previous step ('' at first).

        Returns:
            The mode shown now (pass it to the next step).
        """
        mode = self.mode()
        if self.screen is None or self.session_id is not None or self.rating.waiting(self._clock()):
            return mode
        if mode == "attract":
            self.screen.attract_step()
        elif mode == "closed":
            lang: Lang = "en" if shown == "closed" and self.screen.screen.lang == "zh" else "zh"
            self.screen.reset("closed", lang, self._closed_text(mode, lang))
        elif mode != shown:
            self.screen.reset(mode)
        return mode
