"""The asyncio runtime that wires the kiosk's stages together.

Presence -> session -> listening (voice or touch) -> dialogue -> speech +
avatar -> side effects (ticket, hand-off, risk alert) -> session end.

Inference and device I/O run in worker threads (``asyncio.to_thread``), each
under its stage's time budget; a stage that fails or is late is skipped
with a polite message and the turn goes on. Long-lived loops (render,
camera, card reader, idle screen) run under a :class:`Supervisor` that
restarts them with back-off when they crash.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from kiosk.runtime.config import RuntimeConfig
from kiosk.runtime.idcard import IdCardDesk
from kiosk.runtime.loops import Loops
from kiosk.runtime.presence import PresenceTracker
from kiosk.runtime.rating import RatingOffer
from kiosk.runtime.record import TurnRecord
from kiosk.runtime.stages import RuntimeStageError, StageEvent
from kiosk.runtime.supervisor import Supervisor
from kiosk.runtime.timing import Backoff
from kiosk.runtime.turns import GREETING, SORRY

if TYPE_CHECKING:
    from edge_models.asr import AsrEngine
    from edge_models.tts import Synthesizer
    from edge_models.vision import FaceDetector
    from edge_models.vision.ocr import TextReader
    from kiosk.conversation import Conversations
    from kiosk.runtime.devices import Devices
    from kiosk.runtime.screen import LiveScreen


Lang = Literal["zh", "en"]

__all__ = ["GREETING", "SORRY", "KioskRuntime", "RuntimeStageError", "TurnRecord"]


class KioskRuntime(Loops):
    """The whole kiosk, wired. Create it, ``await start()``, feed it input, ``await stop()``.

    Args:
        conversations: The dialogue engine, sessions and store.
        devices: Opened devices (any may be missing).
        config: Runtime settings.
        screen: The live screen (None: no avatar, e.g. a text-only kiosk).
        synth: TTS (None: no speech, subtitles only).
        detector: Face detector for presence (None: no camera presence).
        asr: Speech recognition, or a callable returning it (loaded on the first voice turn).
        ocr: ID card OCR, or a callable returning it (default: RapidOCR, loaded on the first card).
        branch_hours: Opening hours per weekday (the policy's): out of hours the screen says when the
            branch opens next and no queue ticket is issued.
        now: Local time (injected in tests and the demo; also the public attribute ``now``).
        clock: Monotonic seconds for the idle time before the attract loop (injected in tests).
    """

    def __init__(
        self,
        conversations: Conversations,
        devices: Devices,
        config: RuntimeConfig | None = None,
        *,
        screen: LiveScreen | None = None,
        synth: Synthesizer | None = None,
        detector: FaceDetector | None = None,
        asr: AsrEngine | Callable[[], AsrEngine] | None = None,
        ocr: TextReader | Callable[[], TextReader] | None = None,
        branch_hours: tuple[str | None, ...] | None = None,
        now: Callable[[], datetime] = datetime.now,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.conversations = conversations
        self.devices = devices
        self.config = config or RuntimeConfig()
        self.screen = screen
        self.synth = synth
        self.detector = detector
        self._asr = asr
        self._asr_session: tuple[str | None, AsrEngine] | None = None  # (conversation, its recogniser)
        self.branch_hours = branch_hours
        self.now = now
        self._clock = clock
        self.supervisor = Supervisor(Backoff(), max_restarts=self.config.max_restarts)
        self.presence = PresenceTracker(self.config.presence)
        self.session_id: str | None = None
        self.lang: Lang = "zh"
        self.turns: deque[TurnRecord] = deque(maxlen=self.config.max_turn_log)
        self.events: deque[dict[str, Any]] = deque(maxlen=self.config.max_turn_log)
        self.stage_events: deque[StageEvent] = deque(maxlen=4 * self.config.max_turn_log)
        self.sessions_closed = 0
        self.turn_count = 0
        self.tickets_printed: list[str] = []
        self._turn_lock = asyncio.Lock()
        self._heard_order = asyncio.Lock()  # FIFO: voice turns from the microphone, one at a time
        self._speaking: asyncio.Task[None] | None = None
        self._echo_dbfs = -120.0  # expected level of the kiosk's own voice at the microphone
        self.elderly = False  # the customer chose the elderly-friendly mode on screen (this session only)
        self._voice_tasks: set[asyncio.Task[Any]] = set()
        self._phrases: Any = None  # kiosk.voice.turn.PhraseBook, made on the first voice turn
        self._idle_since = clock()
        self._stopping = False
        self.ready = asyncio.Event()
        self.idcard = IdCardDesk(self, ocr)  # account opening with the ID card (kiosk/runtime/idcard.py)
        self.rating = RatingOffer()  # the end-of-conversation rating (kiosk/runtime/rating.py)

    # -- lifecycle ----------------------------------------------------------
    async def start(self) -> None:
        """Start the supervised loops (render, camera presence, card reader, idle screen)."""
        store = self.conversations.store
        if store is not None:  # sessions a killed kiosk left open (before any loop can start a new one)
            interrupted = await asyncio.to_thread(store.end_open_sessions, "interrupted")
            if interrupted:
                self._log("sessions_interrupted", count=interrupted)
        if self.screen is not None:
            self.supervisor.spawn("render", self._render_loop)
        if self.devices.camera is not None and self.detector is not None:
            self.supervisor.spawn("presence", self._camera_loop)
        if self.devices.card_reader is not None:
            self.supervisor.spawn("card_reader", self._card_loop)
        if getattr(self.devices, "mic", None) is not None and self._asr is not None and self.config.voice.listen:
            self.supervisor.spawn("microphone", self._mic_loop)
        self.supervisor.spawn("idle", self._idle_loop)
        self._log("ready", mode=self.mode())
        self.ready.set()

    async def stop(self) -> None:
        """Stop speaking, end the session, stop the loops."""
        self._stopping = True
        await self._interrupt()
        for task in list(self._voice_tasks):
            task.cancel()
        if self._voice_tasks:
            await asyncio.wait(list(self._voice_tasks), timeout=5.0)
        if self.session_id is not None:
            await self.end_session("shutdown")
        await self.supervisor.stop()

    def health(self) -> dict[str, Any]:
        """Devices and components, for the page and the admin page."""
        return {
            "mode": self.mode(),
            "session": self.session_id is not None,
            "devices": [d.model_dump() for d in self.devices.health()],
            "components": self.supervisor.snapshot(),
            "frames": self.screen.frames if self.screen is not None else 0,
        }

    def problems(self) -> list[str]:
        """Missing or degraded devices and crashed components, in words for staff."""
        out = [f"{d.kind} {d.state}: {d.detail}" for d in self.devices.health() if d.state != "ok"]
        return out + self.supervisor.problems()
