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
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import numpy as np
import numpy.typing as npt

from kiosk.masking import mask_pii
from kiosk.presence import PresenceEvent, PresenceTracker
from kiosk.runtime.config import RuntimeConfig
from kiosk.runtime.idcard import IdCardDesk
from kiosk.runtime.record import KioskStep, TurnRecord
from kiosk.runtime.supervisor import Supervisor
from kiosk.runtime.timing import Backoff, closed_notes, is_open, screen_mode
from kiosk.runtime.wording import PrintProblem, closed_greeting, closed_screen, print_problem, ticket_slip

if TYPE_CHECKING:
    from edge_models.asr import AsrEngine
    from edge_models.audio import Int16Array, Pcm
    from edge_models.speech import Transcript
    from edge_models.tts import Synthesizer, TtsSettings
    from edge_models.vision import FaceDetector
    from edge_models.vision.ocr import TextReader
    from hardware.audio import Microphone
    from kiosk.conversation import Conversations
    from kiosk.dialogue.decision import Decision
    from kiosk.dialogue.utterance import Utterance
    from kiosk.runtime.devices import Devices
    from kiosk.runtime.screen import LiveScreen
    from kiosk.voice_turn import ListenEvent, VoiceListener

_LOG = logging.getLogger(__name__)
T = TypeVar("T")
Lang = Literal["zh", "en"]

GREETING: dict[Lang, str] = {
    "zh": "您好，欢迎光临！请问需要办理什么业务？",
    "en": "Hello and welcome! How can I help you today?",
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
}


class RuntimeStageError(Exception):
    """A stage of a turn failed or ran past its budget (the turn goes on without it)."""


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
        self.branch_hours = branch_hours
        self.now = now
        self._clock = clock
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
        self._heard_order = asyncio.Lock()  # FIFO: voice turns from the microphone, one at a time
        self._speaking: asyncio.Task[None] | None = None
        self._echo_dbfs = -120.0  # expected level of the kiosk's own voice at the microphone
        self.elderly = False  # the customer chose the elderly-friendly mode on screen (this session only)
        self._voice_tasks: set[asyncio.Task[Any]] = set()
        self._phrases: Any = None  # kiosk.voice_turn.PhraseBook, made on the first voice turn
        self._idle_since = clock()
        self._stopping = False
        self.ready = asyncio.Event()
        self.idcard = IdCardDesk(self, ocr)  # account opening with the ID card (kiosk/runtime/idcard.py)

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

    def mode(self) -> str:
        """'serving', 'attract' or 'closed' (from the branch hours and how long nobody has been there)."""
        open_now = True if self.branch_hours is None else is_open(self.branch_hours, self.now())
        return screen_mode(
            session_active=self.session_id is not None,
            idle_s=self._clock() - self._idle_since,
            attract_after_s=self.config.attract_after_s,
            open_now=open_now,
        )

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
        now, hours = self.now(), self.branch_hours
        closed = hours is not None and not is_open(hours, now)
        greeting = closed_greeting(hours, now, self.lang) if closed and hours else GREETING[self.lang]
        await self._say(greeting, self.lang, "warm", ())
        return self.session_id

    async def end_session(self, outcome: str = "left") -> None:
        """The customer left: end the session, forget it on screen (privacy), reset."""
        await self._interrupt()
        session = self.session_id
        if session is None:
            return
        self.session_id = None
        self.elderly = False
        self.idcard.forget()
        self._idle_since = self._clock()
        await asyncio.to_thread(self.conversations.end, session, outcome, now=self.now())
        self.sessions_closed += 1
        self._log("session_closed", session=session, outcome=outcome)
        if self.screen is not None:
            mode = self.mode()
            self.screen.reset(mode if mode == "closed" else "serving", "zh", self._closed_text(mode, "zh"))

    def _closed_text(self, mode: str, lang: Lang) -> str | None:
        """The out-of-hours screen text from the policy's hours (None when open)."""
        if mode != "closed" or self.branch_hours is None:
            return None
        return closed_screen(self.branch_hours, self.now(), lang)

    # -- input ----------------------------------------------------------------
    async def text(self, text: str) -> TurnRecord:
        """The customer typed ``text``."""
        from kiosk.dialogue.utterance import Utterance

        if self.speaking:  # barge-in: a touch stops the kiosk's speech at once
            self._log("barge_in", by="touch")
            await self._interrupt()
        if self.idcard.editing:  # the customer types a correction of the ID card form
            return await self.idcard.correction(text[:200])
        return await self._turn(Utterance(text=text), "text")  # cut to length at the door (Conversations)

    async def id_card(self, rgb: npt.NDArray[np.uint8] | None = None) -> TurnRecord:
        """The customer holds their ID card to the camera (or ``rgb`` comes from a document scanner)."""
        return await self.idcard.scan(rgb)

    async def button(self, button_id: str) -> TurnRecord:
        """The customer tapped a button (``staff:call``, ``ui:lang``, ``ui:elderly`` and the reply's buttons)."""
        from kiosk.dialogue.utterance import Utterance

        if self.speaking:  # barge-in: a touch stops the kiosk's speech at once
            self._log("barge_in", by="touch")
            await self._interrupt()
        if button_id == "ui:lang":
            self.lang = "en" if self.lang == "zh" else "zh"
            if self.screen is not None:
                self.screen.show(lang=self.lang)
            return self._record("button", "", KioskStep("", self.lang, "ui", "language"), remember=False)
        if button_id == "ui:elderly":  # this customer's choice: larger text, slower speech, until they leave
            self.elderly = not self.elderly
            if self.screen is not None:
                self.screen.show(elderly=self.elderly)
            return self._record("button", "", KioskStep("", self.lang, "ui", "elderly"), remember=False)
        if button_id.startswith("idcard:"):
            record = await self.idcard.button(button_id)
            if record is not None:
                return record
        if button_id == "staff:call":
            text = "请帮我叫工作人员" if self.lang == "zh" else "I want to talk to a staff member"
            return await self._turn(Utterance(text=text), "button")
        return await self._turn(Utterance(source="button", button=button_id), "button")

    async def voice(self, pcm: Pcm, lang: str = "auto") -> TurnRecord:
        """The customer said ``pcm`` (a whole utterance, 16 kHz mono)."""
        return await self._voice(lambda engine: self._recognise(engine, pcm, lang), lang)

    async def listen(self, mic: Microphone, lang: str = "auto") -> TurnRecord:
        """Listen on ``mic`` until the customer's utterance ends (voice activity), then take the turn.

        One utterance, for a caller that owns the microphone; ``kiosk run`` listens
        continuously on the kiosk's own microphone instead (:meth:`_mic_loop`).
        """
        from kiosk.voice_turn import VoiceListener, listen

        listener = VoiceListener(self.config.voice.vad, self.config.voice.duplex)

        def heard(engine: AsrEngine) -> Any:
            grammar, hints = self._phrase_lists(lang)
            return listen(mic, engine, lang, listener, grammar=grammar, hints=hints).transcript

        return await self._voice(heard, lang)

    def _phrase_lists(self, lang: str) -> tuple[tuple[str, ...] | None, tuple[str, ...]]:
        """The grammar (when grammar mode is on) and the hint phrases, from the current conversation's policy."""
        from kiosk.voice_turn import PhraseBook

        if self._phrases is None:
            self._phrases = PhraseBook()
        if self.session_id is not None:  # a new conversation gets the engine of the active bundles first
            self.conversations.session(self.session_id)
        policy = self.conversations.engine.policy
        spoken = lang if lang in ("zh", "en") else self.lang
        grammar = self._phrases.grammar(policy, spoken) if self.config.voice.grammar else None
        return grammar, self._phrases.hints(policy)

    def _recognise(self, engine: AsrEngine, pcm: Pcm, lang: str) -> Transcript:
        from kiosk.voice_turn import recognise

        grammar, hints = self._phrase_lists(lang)
        spoken = lang if lang != "auto" or not grammar else self.lang
        return recognise(engine, pcm, spoken, grammar, hints)

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
            step = KioskStep(reply, self.lang, "asr", "clarify", "apologetic", confidence=0.0)
            return self._record(
                "voice", "", step, skipped=("asr",), asr_confidence=0.0, timings_ms={"asr": round(asr_ms, 1)}
            )
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
    async def _turn(self, utterance: Utterance, source: str, asr_ms: float | None = None) -> TurnRecord:
        from kiosk.conversation import at_the_door

        utterance = at_the_door(utterance)  # cut to length as the engine will see it
        await self._interrupt()  # barge-in: a touch or a voice stops the kiosk's speech
        async with self._turn_lock:
            if self.session_id is None:
                await self.arrive()
            session = self.session_id or ""
            shown = utterance.text or f"[button {utterance.button}]"
            if self.screen is not None:
                # The screen (and so the streamed frames and /state) shows the customer's words masked.
                self.screen.show(heard=mask_pii(shown) if source != "button" else "", state="thinking")
            timings: dict[str, float] = {} if asr_ms is None else {"asr": round(asr_ms, 1)}
            hours = self.branch_hours
            now = self.now()  # the runtime's clock reaches the engine and the store
            closed = None if hours is None else closed_notes(hours, now)

            def decide() -> tuple[Decision, Any]:
                # In the worker: a new session may first load the bundles the sync agent switched to.
                # Out of hours the engine issues no queue ticket and says when the branch opens next.
                self.conversations.session(session).closed = closed
                return self.conversations.turn(session, utterance=utterance, now=now)

            started = time.perf_counter()
            try:
                decision, _ = await self._stage("dialogue", decide)
            except RuntimeStageError:
                timings["dialogue"] = round((time.perf_counter() - started) * 1000, 1)
                reply = SORRY["dialogue"][self.lang]
                await self._say(reply, self.lang, "apologetic", ())
                step = KioskStep(reply, self.lang, "error", "answer", "apologetic", confidence=0.0)
                return self._record(source, shown, step, skipped=("dialogue",), timings_ms=timings)
            timings["dialogue"] = round((time.perf_counter() - started) * 1000, 1)
            self.lang = decision.lang
            skipped: list[str] = []
            reply = decision.reply
            printed = False
            if decision.ticket:
                problem = await self._print(decision)
                printed = problem is None
                if problem is not None:
                    skipped.append("print")
                    reply = f"{reply} {print_problem(problem, decision.ticket, decision.lang)}"
            buttons = tuple((b.id, b.label) for b in decision.buttons)
            say_started = time.perf_counter()
            await self._say(reply, decision.lang, decision.emotion, buttons, timings)
            timings.setdefault("first_audio", round((time.perf_counter() - say_started) * 1000, 1))
            record = self._record(
                source,
                shown,
                decision,
                reply=reply,
                printed=printed,
                skipped=tuple(skipped),
                asr_confidence=utterance.asr_confidence,
                timings_ms=timings,
            )
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

    async def _print(self, decision: Decision) -> PrintProblem | None:
        """Print the decision's ticket; None when a slip came out, else why not."""
        from hardware.printer import OutOfPaperError

        printer = self.devices.printer
        if printer is None or decision.ticket is None:
            return "failed"
        if printer.out_of_paper:
            self._log("ticket_not_printed", ticket=decision.ticket, why="out_of_paper")
            return "out_of_paper"
        slip = ticket_slip(decision.ticket, self.conversations.engine.policy, self.now())
        try:
            await self._stage("print", lambda: printer.print_ticket(slip))
        except RuntimeStageError as err:
            out = isinstance(err.__cause__, OutOfPaperError)
            self._log("ticket_not_printed", ticket=decision.ticket, why="out_of_paper" if out else "failed")
            return "out_of_paper" if out else "failed"
        self.tickets_printed.append(decision.ticket)
        self._log("ticket_printed", ticket=decision.ticket)
        return None

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
        settings: TtsSettings | None = None
        if self.synth is not None and self.config.speak:
            synth = self.synth

            def first_sentence() -> tuple[Any, TtsSettings]:
                settings = self._speech_settings()
                return next(iter(synth.sentences(text, lang, settings))), settings

            try:
                first, settings = await self._stage("tts", first_sentence)
            except RuntimeStageError:
                first = None
        if timings is not None:
            timings["first_audio"] = round((time.perf_counter() - started) * 1000, 1)
        if first is None:
            if self.screen is not None:
                self.screen.speak(timeline_from_text(text, lang), text, lang, emotion, buttons)
            return
        from edge_models.audio import rms_dbfs

        self._echo_dbfs = rms_dbfs(first.pcm.samples) + self.config.voice.echo_coupling_db
        self._speaking = asyncio.create_task(self._play(text, lang, emotion, buttons, first, settings=settings))

    def _speech_settings(self) -> TtsSettings:
        """Rate and volume of the next reply: the kiosk's voice settings and the staff's (read now)."""
        from kiosk.voice_turn import speech_settings, staff_voice

        store = self.conversations.store
        staff = staff_voice(store.get_setting) if store is not None else {}
        if self.elderly:
            staff["elderly_mode"] = True
        return speech_settings(self.config.voice, staff)

    async def _play(
        self,
        text: str,
        lang: Lang,
        emotion: str,
        buttons: tuple[tuple[str, str], ...],
        first: Any,
        *,
        settings: TtsSettings | None = None,
    ) -> None:
        """Play the reply sentence by sentence; the next one is synthesised while one plays."""
        from edge_models.tts.espeak import split_sentences

        synth = self.synth
        speaker = self.devices.speaker
        sentences = split_sentences(text)
        speech = first
        upcoming: asyncio.Task[Any] | None = None  # the next sentence, synthesised while this one plays
        try:
            for index in range(len(sentences)):
                if index > 0:
                    if upcoming is None:
                        return
                    try:
                        speech = await upcoming
                    except RuntimeStageError:
                        return
                upcoming = None
                if synth is not None and index + 1 < len(sentences):
                    sentence = sentences[index + 1]
                    upcoming = asyncio.create_task(
                        self._stage("tts", lambda s=sentence: synth.synthesize(s, lang, settings))  # type: ignore[misc]
                    )
                if self.screen is not None:
                    self.screen.speak(speech.timeline, text, lang, emotion, buttons)
                if speaker is None:
                    await asyncio.sleep(speech.pcm.duration_s)
                    continue
                epoch = speaker.epoch  # a stop() from now on stops this sentence, even before it begins
                try:
                    done = await asyncio.to_thread(functools.partial(speaker.play, speech.pcm, epoch=epoch))
                finally:
                    take = getattr(speaker, "take", None)
                    if take is not None:
                        take()  # the simulated speaker keeps nothing between replies
                if not done:
                    return
        finally:
            if upcoming is not None:
                upcoming.cancel()
                upcoming.add_done_callback(lambda t: t.cancelled() or t.exception())  # its failure was logged

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

    @property
    def speaking(self) -> bool:
        """True while the kiosk's speech is playing."""
        return self._speaking is not None and not self._speaking.done()

    async def _mic_loop(self) -> None:
        """Listen continuously while a customer is there: VAD endpointing -> ASR -> turn (supervised).

        Half duplex: while the kiosk speaks, frames only feed the barge-in check
        (a voice louder than the kiosk's echo by a margin stops the speech and
        starts the customer's utterance). Ends when the microphone's stream ends.
        """
        from kiosk.voice_turn import VoiceListener

        mic = self.devices.mic
        if mic is None:
            return
        voice = self.config.voice
        listener = VoiceListener(voice.vad, voice.duplex)
        loop = asyncio.get_running_loop()
        # Its own thread: a microphone read (30 ms, blocking) never waits behind a model in the shared pool.
        reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kiosk-mic")
        try:
            await self._listen_on(mic, listener, lambda: loop.run_in_executor(reader, mic.read))
        finally:
            reader.shutdown(wait=False, cancel_futures=True)

    async def _listen_on(
        self, mic: Microphone, listener: VoiceListener, read: Callable[[], Awaitable[Int16Array | None]]
    ) -> None:
        while True:
            frame = await read()
            session = self.session_id
            if frame is None:
                flushed = listener.flush()
                if flushed is not None and session is not None:
                    self._heard(flushed, session)
                return
            if session is None:
                if listener.in_utterance:
                    listener.drop()
                continue
            if self.speaking and not listener.gate.speaking:
                listener.kiosk_speaking(self._echo_dbfs)
            elif not self.speaking and listener.gate.speaking:
                listener.kiosk_silent()
            event = listener.feed(frame, 1000.0 * len(frame) / mic.rate)
            if event is None:
                continue
            if event.kind == "barge_in":
                self._log("barge_in", by="voice")
                await self._interrupt()
            elif event.kind == "utterance":
                self._heard(event, session)

    def _heard(self, event: ListenEvent, session: str) -> None:
        """The customer finished an utterance: take the voice turn (the microphone keeps listening)."""
        pcm = event.pcm
        if pcm is None:
            return
        self._log("heard", ms=round(pcm.duration_ms), end=event.end)

        async def turn() -> None:
            async with self._heard_order:  # utterances become turns in the order they were spoken
                if self.session_id != session:  # the customer left meanwhile
                    return
                lang = self.lang if self.config.voice.lang == "session" else self.config.voice.lang
                await self._voice(lambda engine: self._recognise(engine, pcm, lang), lang)

        task = asyncio.create_task(turn(), name="kiosk:voice-turn")
        self._voice_tasks.add(task)
        task.add_done_callback(self._voice_done)

    def _voice_done(self, task: asyncio.Task[Any]) -> None:
        self._voice_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _LOG.error("voice turn failed", exc_info=task.exception())

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
        if self.screen is None or self.session_id is not None:
            return mode
        if mode == "attract":
            self.screen.attract_step()
        elif mode == "closed":
            lang: Lang = "en" if shown == "closed" and self.screen.screen.lang == "zh" else "zh"
            self.screen.reset("closed", lang, self._closed_text(mode, lang))
        elif mode != shown:
            self.screen.reset(mode)
        return mode

    def _record(
        self,
        source: str,
        heard: str,
        decision: Decision | KioskStep,
        *,
        reply: str | None = None,
        remember: bool = True,
        **details: Any,
    ) -> TurnRecord:
        """The turn's record (the customer's words masked here), kept for the page unless ``remember`` is off.

        Args:
            source: ``text``, ``voice``, ``button`` or ``idcard``.
            heard: What the customer said or typed (masked here).
            decision: The engine's decision or the kiosk's own step.
            reply: What the kiosk said, when not the decision's reply.
            remember: Keep it in :attr:`turns` (screen buttons are not turns).
            **details: ``printed``, ``skipped``, ``asr_confidence``, ``timings_ms``.
        """
        record = TurnRecord(
            self.session_id or "",
            source,
            mask_pii(heard),
            decision,
            decision.reply if reply is None else reply,
            **details,
        )
        if remember:
            self.turns.append(record)
            self.turn_count += 1
        return record

    def _log(self, kind: str, **data: Any) -> None:
        self.events.append({"at": round(time.time(), 3), "event": kind, **data})
