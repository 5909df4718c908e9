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
import functools
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from kiosk.masking import mask_pii
from kiosk.presence import PresenceEvent, PresenceTracker
from kiosk.runtime.config import RuntimeConfig
from kiosk.runtime.supervisor import Supervisor
from kiosk.runtime.timing import Backoff, is_open, screen_mode

if TYPE_CHECKING:
    from edge_models.asr import AsrEngine
    from edge_models.audio import Pcm
    from edge_models.tts import EspeakSynthesizer
    from edge_models.vision import FaceDetector
    from hardware.audio import Microphone
    from kiosk.conversation import Conversations
    from kiosk.dialogue.decision import Decision
    from kiosk.runtime.devices import Devices
    from kiosk.runtime.screen import LiveScreen

_LOG = logging.getLogger(__name__)
T = TypeVar("T")
Lang = Literal["zh", "en"]

GREETING: dict[Lang, str] = {
    "zh": "您好，欢迎光临！请问需要办理什么业务？",
    "en": "Hello and welcome! How can I help you today?",
}
CLOSED_GREETING: dict[Lang, str] = {
    "zh": "您好！本网点现在不营业，我仍可以为您解答问题；柜台业务请在营业时间办理。",
    "en": "Hello! The branch is closed now; I can still answer questions, counter services open in business hours.",
}
SORRY: dict[str, dict[Lang, str]] = {
    "asr": {
        "zh": "抱歉，我没有听清，请再说一遍或点击屏幕上的按钮。",
        "en": "Sorry, I didn't catch that. Please say it again or tap a button.",
    },
    "dialogue": {
        "zh": "抱歉，系统有点忙，请稍后再试或呼叫工作人员。",
        "en": "Sorry, I'm a little slow right now. Please try again or call staff.",
    },
    "print": {
        "zh": "抱歉，取号机暂时无法出票，请记住您的号码或到大堂柜台。",
        "en": "Sorry, the ticket printer isn't working. Please note your number or ask at the lobby desk.",
    },
}


class RuntimeStageError(Exception):
    """A stage of a turn failed or ran past its budget (the turn goes on without it)."""


@dataclass(frozen=True, slots=True)
class TurnRecord:
    """What one turn gave the customer (masked; for the page, the demo summary and tests)."""

    session: str
    source: str
    heard: str
    reply: str
    lang: str
    intent: str
    stage: str
    action: str
    emotion: str
    buttons: tuple[tuple[str, str], ...] = ()
    ticket: str | None = None
    printed: bool = False
    handoff: str | None = None
    skipped: tuple[str, ...] = ()
    asr_confidence: float | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)


class KioskRuntime:
    """The whole kiosk, wired. Create it, ``await start()``, feed it input, ``await stop()``.

    Args:
        conversations: The dialogue engine, sessions and store.
        devices: Opened devices (any may be missing).
        config: Runtime settings.
        screen: The live screen (None: no avatar, e.g. a text-only kiosk).
        synth: TTS (None: no speech, subtitles only).
        detector: Face detector for presence (None: no camera presence).
        asr: Speech recognition, or a callable returning it (loaded on the first voice turn).
        branch_hours: Opening hours per weekday (the policy's), for the out-of-hours screen.
        now: Local time (injected in tests).
    """

    def __init__(
        self,
        conversations: Conversations,
        devices: Devices,
        config: RuntimeConfig | None = None,
        *,
        screen: LiveScreen | None = None,
        synth: EspeakSynthesizer | None = None,
        detector: FaceDetector | None = None,
        asr: AsrEngine | Callable[[], AsrEngine] | None = None,
        branch_hours: tuple[str | None, ...] | None = None,
        now: Callable[[], datetime] = datetime.now,
    ) -> None:
        self.conversations = conversations
        self.devices = devices
        self.config = config or RuntimeConfig()
        self.screen = screen
        self.synth = synth
        self.detector = detector
        self._asr = asr
        self.branch_hours = branch_hours
        self._now = now
        self.supervisor = Supervisor(Backoff(), max_restarts=self.config.max_restarts)
        self.presence = PresenceTracker(self.config.presence)
        self.session_id: str | None = None
        self.lang: Lang = "zh"
        self.turns: deque[TurnRecord] = deque(maxlen=self.config.max_turn_log)
        self.events: deque[dict[str, Any]] = deque(maxlen=self.config.max_turn_log)
        self.sessions_closed = 0
        self.turn_count = 0
        self.tickets_printed: list[str] = []
        self._turn_lock = asyncio.Lock()
        self._speaking: asyncio.Task[None] | None = None
        self._idle_since = time.monotonic()
        self._stopping = False
        self.ready = asyncio.Event()

    # -- lifecycle ----------------------------------------------------------
    async def start(self) -> None:
        """Start the supervised loops (render, camera presence, card reader, idle screen)."""
        if self.screen is not None:
            self.supervisor.spawn("render", self._render_loop)
        if self.devices.camera is not None and self.detector is not None:
            self.supervisor.spawn("presence", self._camera_loop)
        if self.devices.card_reader is not None:
            self.supervisor.spawn("card_reader", self._card_loop)
        self.supervisor.spawn("idle", self._idle_loop)
        self._log("ready", mode=self.mode())
        self.ready.set()

    async def stop(self) -> None:
        """Stop speaking, end the session, stop the loops."""
        self._stopping = True
        await self._interrupt()
        if self.session_id is not None:
            await self.end_session("shutdown")
        await self.supervisor.stop()

    def mode(self) -> str:
        """'serving', 'attract' or 'closed' (from the branch hours and how long nobody has been there)."""
        open_now = True if self.branch_hours is None else is_open(self.branch_hours, self._now())
        return screen_mode(
            session_active=self.session_id is not None,
            idle_s=time.monotonic() - self._idle_since,
            attract_after_s=self.config.attract_after_s,
            open_now=open_now,
        )

    def health(self) -> dict[str, Any]:
        """Devices and components, for the page and the admin page."""
        return {
            "mode": self.mode(),
            "session": self.session_id is not None,
            "devices": [d.model_dump() for d in self.devices.health()],
            "components": {
                name: {"state": s.state, "restarts": s.restarts, "last_error": s.last_error}
                for name, s in self.supervisor.status.items()
            },
            "frames": self.screen.frames if self.screen is not None else 0,
        }

    def problems(self) -> list[str]:
        """Missing or degraded devices and crashed components, in words for staff."""
        out = [f"{d.kind} {d.state}: {d.detail}" for d in self.devices.health() if d.state != "ok"]
        return out + self.supervisor.problems()

    # -- sessions -------------------------------------------------------------
    async def arrive(self, gaze: tuple[float, float] | None = None, lang: Lang | None = None) -> str:
        """A customer arrived (presence or a first touch): start a session and greet them."""
        if self.session_id is not None:
            return self.session_id
        self.session_id = uuid.uuid4().hex
        self.lang = lang or "zh"
        self._log("arrived", session=self.session_id)
        if self.screen is not None:
            self.screen.reset("serving", self.lang)
            self.screen.show(state="attentive", emotion="warm", gaze=gaze)
        closed = self.branch_hours is not None and not is_open(self.branch_hours, self._now())
        await self._say(CLOSED_GREETING[self.lang] if closed else GREETING[self.lang], self.lang, "warm", ())
        return self.session_id

    async def end_session(self, outcome: str = "left") -> None:
        """The customer left: end the session, forget it on screen (privacy), reset."""
        await self._interrupt()
        session = self.session_id
        if session is None:
            return
        self.session_id = None
        self._idle_since = time.monotonic()
        store = self.conversations.store
        if store is not None:
            await asyncio.to_thread(store.end_session, session, outcome)
        self.conversations.session(session).ended = True
        self.sessions_closed += 1
        self._log("session_closed", session=session, outcome=outcome)
        if self.screen is not None:
            self.screen.reset("closed" if self.mode() == "closed" else "serving", "zh")

    # -- input ----------------------------------------------------------------
    async def text(self, text: str) -> TurnRecord:
        """The customer typed ``text``."""
        from kiosk.dialogue.utterance import Utterance

        return await self._turn(Utterance(text=text[:2000]), "text")

    async def button(self, button_id: str) -> TurnRecord:
        """The customer tapped a button (``staff:call``, ``ui:lang`` and the reply's buttons)."""
        from kiosk.dialogue.utterance import Utterance

        if button_id == "ui:lang":
            self.lang = "en" if self.lang == "zh" else "zh"
            if self.screen is not None:
                self.screen.show(lang=self.lang)
            return TurnRecord(self.session_id or "", "button", "", "", self.lang, "", "ui", "language", "neutral")
        if button_id == "staff:call":
            text = "请帮我叫工作人员" if self.lang == "zh" else "I want to talk to a staff member"
            return await self._turn(Utterance(text=text), "button")
        return await self._turn(Utterance(source="button", button=button_id[:200]), "button")

    async def voice(self, pcm: Pcm, lang: str = "auto") -> TurnRecord:
        """The customer said ``pcm`` (a whole utterance, 16 kHz mono)."""
        return await self._voice(lambda engine: engine.transcribe(pcm, lang), lang)

    async def listen(self, mic: Microphone, lang: str = "auto") -> TurnRecord:
        """Listen on ``mic`` until the customer's utterance ends (voice activity), then take the turn."""
        from edge_models.asr import Endpointer
        from kiosk.cli_voice import listen

        endpointer = Endpointer()

        def heard(engine: AsrEngine) -> Any:
            return listen(mic, engine, lang, endpointer).transcript

        return await self._voice(heard, lang)

    async def _voice(self, recognise: Callable[[AsrEngine], Any], lang: str) -> TurnRecord:
        from kiosk.dialogue.utterance import Utterance

        await self._interrupt()
        if self.session_id is None:
            await self.arrive(lang=lang if lang in ("zh", "en") else None)  # type: ignore[arg-type]
        if self.screen is not None:
            self.screen.show(state="listening")
        started = time.perf_counter()
        try:
            engine = await self._stage("asr", self._asr_engine)
            transcript = await self._stage("asr", lambda: recognise(engine))
        except RuntimeStageError:
            transcript = None
        asr_ms = (time.perf_counter() - started) * 1000
        if transcript is None or not transcript.text.strip():
            reply = SORRY["asr"][self.lang]
            await self._say(reply, self.lang, "apologetic", ())
            record = TurnRecord(
                self.session_id or "",
                "voice",
                "",
                reply,
                self.lang,
                "",
                "asr",
                "clarify",
                "apologetic",
                skipped=("asr",),
                asr_confidence=0.0,
                timings_ms={"asr": round(asr_ms, 1)},
            )
            self._remember(record)
            return record
        hint = transcript.lang if transcript.lang in ("zh", "en") else None
        utterance = Utterance(text=transcript.text, source="voice", lang=hint, asr_confidence=transcript.confidence)
        return await self._turn(utterance, "voice", asr_ms=asr_ms)

    def _asr_engine(self) -> AsrEngine:
        if self._asr is None:
            raise RuntimeStageError("no speech recognition on this kiosk")
        if callable(self._asr) and not hasattr(self._asr, "transcribe"):
            self._asr = self._asr()
        return self._asr  # type: ignore[return-value]

    # -- the turn ---------------------------------------------------------------
    async def _turn(self, utterance: Any, source: str, asr_ms: float | None = None) -> TurnRecord:
        await self._interrupt()  # barge-in: a touch or a voice stops the kiosk's speech
        async with self._turn_lock:
            if self.session_id is None:
                await self.arrive()
            session = self.session_id or ""
            shown = utterance.text or f"[button {utterance.button}]"
            if self.screen is not None:
                self.screen.show(heard=shown if source != "button" else "", state="thinking")
            timings: dict[str, float] = {} if asr_ms is None else {"asr": round(asr_ms, 1)}
            started = time.perf_counter()
            try:
                decision, _ = await self._stage(
                    "dialogue", lambda: self.conversations.turn(session, utterance=utterance)
                )
            except RuntimeStageError:
                timings["dialogue"] = round((time.perf_counter() - started) * 1000, 1)
                reply = SORRY["dialogue"][self.lang]
                await self._say(reply, self.lang, "apologetic", ())
                record = TurnRecord(
                    session,
                    source,
                    mask_pii(shown),
                    reply,
                    self.lang,
                    "",
                    "error",
                    "answer",
                    "apologetic",
                    skipped=("dialogue",),
                    timings_ms=timings,
                )
                self._remember(record)
                return record
            timings["dialogue"] = round((time.perf_counter() - started) * 1000, 1)
            self.lang = decision.lang
            skipped: list[str] = []
            reply = decision.reply
            printed = False
            if decision.ticket:
                printed = await self._print(decision)
                if not printed:
                    skipped.append("print")
                    reply = f"{reply} {SORRY['print'][decision.lang]}"
            buttons = tuple((b.id, b.label) for b in decision.buttons)
            say_started = time.perf_counter()
            await self._say(reply, decision.lang, decision.emotion, buttons, timings)
            timings.setdefault("first_audio", round((time.perf_counter() - say_started) * 1000, 1))
            record = TurnRecord(
                session=session,
                source=source,
                heard=mask_pii(shown),
                reply=reply,
                lang=decision.lang,
                intent=decision.intent,
                stage=decision.stage,
                action=decision.action,
                emotion=decision.emotion,
                buttons=buttons,
                ticket=decision.ticket,
                printed=printed,
                handoff=decision.handoff.kind if decision.handoff else None,
                skipped=tuple(skipped),
                asr_confidence=utterance.asr_confidence,
                timings_ms=timings,
            )
            self._remember(record)
            self._log(
                "turn",
                session=session,
                intent=decision.intent,
                action=decision.action,
                ticket=decision.ticket,
                handoff=record.handoff,
            )
            if decision.action == "end":
                await self.end_session("resolved")
            return record

    async def _stage(self, name: str, work: Callable[[], T]) -> T:
        """Run blocking ``work`` off the loop within the stage's budget.

        Raises:
            RuntimeStageError: It failed or ran past its budget.
        """
        budget = getattr(self.config.budgets, f"{name}_s")
        try:
            return await asyncio.wait_for(asyncio.to_thread(work), timeout=budget)
        except asyncio.CancelledError:
            raise
        except TimeoutError as err:
            _LOG.warning("stage %s ran past its %.1f s budget; skipped", name, budget)
            self._log("stage_late", stage=name)
            raise RuntimeStageError(f"{name} ran past its budget") from err
        except Exception as err:
            _LOG.exception("stage %s failed; skipped", name)
            self._log("stage_failed", stage=name, error=type(err).__name__)
            raise RuntimeStageError(f"{name} failed: {err}") from err

    async def _print(self, decision: Decision) -> bool:
        from hardware.printer import TicketSlip

        printer = self.devices.printer
        if printer is None or decision.ticket is None:
            return False
        slip = TicketSlip(
            number=decision.ticket,
            service=_service_label(decision),
            service_en="Queue ticket",
            branch=self.conversations.engine.policy.branch.name.get(decision.lang),
            issued_at=self._now().strftime("%Y-%m-%d %H:%M"),
        )
        try:
            await self._stage("print", lambda: printer.print_ticket(slip))
        except RuntimeStageError:
            return False
        self.tickets_printed.append(decision.ticket)
        self._log("ticket_printed", ticket=decision.ticket)
        return True

    # -- speech -------------------------------------------------------------------
    async def _say(
        self,
        text: str,
        lang: Lang,
        emotion: str,
        buttons: tuple[tuple[str, str], ...],
        timings: dict[str, float] | None = None,
    ) -> None:
        """Start speaking ``text`` (returns when the first sentence is playing); TTS failure: subtitles only."""
        from avatar.lipsync import timeline_from_text

        await self._interrupt()
        started = time.perf_counter()
        first = None
        if self.synth is not None and self.config.speak:
            synth = self.synth
            try:
                first = await self._stage("tts", lambda: next(iter(synth.sentences(text, lang))))
            except RuntimeStageError:
                first = None
        if timings is not None:
            timings["first_audio"] = round((time.perf_counter() - started) * 1000, 1)
        if first is None:
            if self.screen is not None:
                self.screen.speak(timeline_from_text(text, lang), text, lang, emotion, buttons)
            return
        self._speaking = asyncio.create_task(self._play(text, lang, emotion, buttons, first))

    async def _play(
        self, text: str, lang: Lang, emotion: str, buttons: tuple[tuple[str, str], ...], first: Any
    ) -> None:
        """Play the reply sentence by sentence; the next one is synthesised while one plays."""
        from edge_models.tts.espeak import split_sentences

        synth = self.synth
        speaker = self.devices.speaker
        sentences = split_sentences(text)
        speech = first
        for index in range(len(sentences)):
            if index > 0:
                if synth is None:
                    return
                sentence = sentences[index]
                try:
                    speech = await self._stage("tts", lambda s=sentence: synth.synthesize(s, lang))  # type: ignore[misc]
                except RuntimeStageError:
                    return
            if self.screen is not None:
                self.screen.speak(speech.timeline, text, lang, emotion, buttons)
            if speaker is None:
                await asyncio.sleep(speech.pcm.duration_s)
                continue
            try:
                done = await asyncio.to_thread(speaker.play, speech.pcm)
            finally:
                take = getattr(speaker, "take", None)
                if take is not None:
                    take()  # the simulated speaker keeps nothing between replies
            if not done:
                return

    async def _interrupt(self) -> None:
        """Stop the kiosk's speech (barge-in, new turn, session end)."""
        task = self._speaking
        if task is None or task.done():
            return
        if self.devices.speaker is not None:
            self.devices.speaker.stop()
        task.cancel()
        await asyncio.wait([task], timeout=2.0)
        self._speaking = None
        if self.screen is not None:
            self.screen.stop_speaking()

    async def wait_speech(self, timeout_s: float = 60.0) -> None:
        """Wait until the kiosk has finished speaking (demo and tests)."""
        task = self._speaking
        if task is not None and not task.done():
            await asyncio.wait([task], timeout=timeout_s)

    # -- loops ------------------------------------------------------------------------
    async def _render_loop(self) -> None:
        screen = self.screen
        if screen is None:
            return
        interval = 1.0 / self.config.fps
        while True:
            started = time.monotonic()
            await asyncio.to_thread(screen.tick)
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))

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
            mode = self.mode()
            if self.screen is not None and self.session_id is None:
                if mode != shown or mode == "attract":
                    if mode == "attract":
                        self.screen.attract_step()
                    else:
                        self.screen.reset(mode)
                shown = mode
            await asyncio.sleep(4.0)

    def _remember(self, record: TurnRecord) -> None:
        self.turns.append(record)
        self.turn_count += 1

    def _log(self, kind: str, **data: Any) -> None:
        self.events.append({"at": round(time.time(), 3), "event": kind, **data})


def _service_label(decision: Decision) -> str:
    """The ticket's heading in the customer's language."""
    return {"zh": "排队取号", "en": "Queue ticket"}[decision.lang]
