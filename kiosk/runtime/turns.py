"""Sessions and the turn: a customer arrives, types or taps, the engine decides, the kiosk prints and speaks."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from kiosk.privacy import mask_pii
from kiosk.runtime.rating import ASK, THANKS
from kiosk.runtime.record import KioskStep, TurnRecord
from kiosk.runtime.speaking import Speaking
from kiosk.runtime.stages import RuntimeStageError
from kiosk.runtime.timing import closed_notes, is_open, screen_mode
from kiosk.runtime.wording import PrintProblem, closed_greeting, closed_screen, print_problem, ticket_slip

if TYPE_CHECKING:
    from kiosk.dialogue import Decision, Utterance


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


class Turns(Speaking):
    """Sessions (arrive, end) and the turn: touch and typed input, dialogue, printing, the reply."""

    def mode(self) -> str:
        """'serving', 'attract' or 'closed' (from the branch hours and how long nobody has been there)."""
        open_now = True if self.branch_hours is None else is_open(self.branch_hours, self.now())
        return screen_mode(
            session_active=self.session_id is not None,
            idle_s=self._clock() - self._idle_since,
            attract_after_s=self.config.attract_after_s,
            open_now=open_now,
        )

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
        # Walking away from the rating question is an answer: skipped (a lapsed question stays unrated).
        offered = self.rating.session if outcome == "left" and self.rating.waiting(self._clock()) else None
        self.rating.close()
        if offered is not None:
            store = self.conversations.store
            if store is not None:
                await asyncio.to_thread(store.rate_session, offered, "skipped", "walked_away")
            self._log("rated", session=offered, rating="skipped", how="walked_away")
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
        from kiosk.dialogue import Utterance

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
        from kiosk.dialogue import Utterance

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
            if self.session_id is not None and self.conversations.store is not None:
                await asyncio.to_thread(self.conversations.store.set_session_elderly, self.session_id, self.elderly)
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

    # -- the turn ---------------------------------------------------------------
    async def _turn(self, utterance: Utterance, source: str, asr_ms: float | None = None) -> TurnRecord:
        from kiosk.conversation import at_the_door

        utterance = at_the_door(utterance)  # cut to length as the engine will see it
        await self._interrupt()  # barge-in: a touch or a voice stops the kiosk's speech
        async with self._turn_lock:
            if self.session_id is None and self.rating.session is not None:
                button = utterance.button if utterance.source == "button" else None
                # Normalised first: whisper often writes traditional characters (不滿意).
                words = None if button else self.conversations.engine.normalize(utterance.text).light
                taken = self.rating.take(button=button, text=words, spoken=source == "voice")
                if taken is not None:
                    return await self._rated(*taken, source)
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
            self._offered(decision)  # after the first sound: what it prepares never delays the reply
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
                offered = self.rating.open(session, decision.lang, self._clock())  # a tap or words; skip counts
                if self.screen is not None:
                    self.screen.show(said=ASK[self.rating.lang], buttons=offered)
            return record

    def _offered(self, decision: Decision) -> None:
        """A reply was decided and its first sentence is playing (the voice side prepares for the answer)."""

    async def _rated(self, session: str, rating: str, how: str, source: str) -> TurnRecord:
        """Store the customer's rating of the conversation that just ended, and thank them."""
        store = self.conversations.store
        if store is not None:
            await asyncio.to_thread(store.rate_session, session, rating, how)
        lang = self.rating.lang if self.rating.lang in THANKS else "zh"
        self._log("rated", session=session, rating=rating, how=how)
        reply = THANKS[lang] if rating != "skipped" else ""
        if self.screen is not None:
            self.screen.show(said=reply, buttons=())
        return self._record(source, rating, KioskStep(reply, lang, "rating", "rating", "happy"), session=session)

    async def _print(self, decision: Decision) -> PrintProblem | None:
        """Print the decision's ticket; None when a slip came out, else why not."""
        from hardware import OutOfPaperError

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
