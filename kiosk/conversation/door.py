"""Conversations: the engine, its sessions and the store, one turn at a time."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from kiosk.dialogue import (
    Decision,
    DialogueEngine,
    DialogueSession,
    SideEffectBudget,
    SideEffectLimits,
    SideEffects,
    Utterance,
)
from kiosk.llm import HandoffSummarizer, LlmSummarizer, SummaryWorker
from kiosk.policy import Thresholds
from kiosk.storage import Store

MAX_SESSIONS = 1000
MAX_INPUT_CHARS = 2000  # typed or recognised text is cut to this, once, in at_the_door()
MAX_BUTTON_CHARS = 200


class Conversations:
    """Runs turns for many independent sessions and records them.

    Args:
        engine: The dialogue engine.
        store: Where turns and hand-offs are recorded (masked); None records nothing.
        max_sessions: Oldest sessions are forgotten beyond this many.
        reloader: Called when a new session starts; returns the engine for it
            (a rebuilt one after ``active/`` switched). A running session keeps
            the engine it started with.
        summaries: Writes hand-off summaries off the customer's path; by default
            one over ``store`` with the engine's LLM stage (if any).
        resume_summaries: Re-queue summaries a previous run left pending. Only the
            long-running kiosk (``kiosk run``) does; a one-shot command (``kiosk chat``)
            must not start a 20-second summary it would then have to cut at exit.
        limits: The kiosk-wide side-effect limits shared by every session (hand-offs, risk alerts
            and tickets per window); refusals are counted in ``store`` and audited once per window.
    """

    def __init__(
        self,
        engine: DialogueEngine,
        store: Store | None,
        *,
        max_sessions: int = MAX_SESSIONS,
        reloader: Callable[[], DialogueEngine] | None = None,
        summaries: SummaryWorker | None = None,
        resume_summaries: bool = True,
        limits: SideEffectLimits | None = None,
    ) -> None:
        self.engine = engine
        self.budget = SideEffectBudget(limits)
        self.store = store
        if summaries is None and store is not None:
            # The engine may be rebuilt with a new policy or LLM: both are read at each summary.
            summarizer = HandoffSummarizer(self._summary_llm, self._thresholds, staff_lang=self._staff_lang)
            summaries = SummaryWorker(store, summarizer)
            if resume_summaries:
                summaries.resume()
        self.summaries = summaries
        self._reloader = reloader
        self._engines: dict[str, DialogueEngine] = {}
        self._sessions: OrderedDict[str, DialogueSession] = OrderedDict()
        self._history: dict[str, list[str]] = {}
        self._max = max_sessions
        self._lock = threading.Lock()

    def _summary_llm(self) -> LlmSummarizer | None:
        llm = self.engine.understander.llm
        return llm if isinstance(llm, LlmSummarizer) else None

    def _thresholds(self) -> Thresholds:
        return self.engine.policy.thresholds

    def _staff_lang(self) -> str:
        return self.engine.policy.branch.staff_lang

    def session(self, session_id: str) -> DialogueSession:
        """The session with this id, created on first use."""
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None or session.ended:
                # A session id that starts over keeps its side-effect counts (limits per session id).
                effects = session.effects if session is not None else SideEffects()
                session = DialogueSession(session_id, effects=effects, budget=self.budget)
                self._sessions[session_id] = session
                self._history[session_id] = []
                if self._reloader is not None:
                    self.engine = self._reloader()
                self._engines[session_id] = self.engine
            self._sessions.move_to_end(session_id)
            while len(self._sessions) > self._max:
                old, _ = self._sessions.popitem(last=False)
                self._history.pop(old, None)
                self._engines.pop(old, None)
            return session

    def turn(
        self,
        session_id: str,
        *,
        text: str | None = None,
        button: str | None = None,
        now: datetime | None = None,
        utterance: Utterance | None = None,
    ) -> tuple[Decision, float]:
        """Handle one input: the only way into the engine. Returns the decision and the engine latency in ms.

        Every caller (the page's ``/api/turn``, ``kiosk chat``, voice turns, the
        runtime) gets the same side effects: the turn is stored (masked), a
        hand-off is queued and the session is ended when the decision says so.

        Args:
            session_id: The conversation.
            text: Typed text (cut to ``MAX_INPUT_CHARS``).
            button: A tapped button's id (cut to ``MAX_BUTTON_CHARS``).
            now: The caller's clock (a naive time is local); the engine, the stored
                turn and the session's end use it. Default: now.
            utterance: A ready input (a voice turn with its ASR confidence and
                language hint), cut like typed text.
        """
        utterance = at_the_door(utterance, text, button)
        when = (now or datetime.now(UTC)).astimezone(UTC)
        session = self.session(session_id)
        shown = utterance.text or f"[button {utterance.button}]"  # a choice picked by voice shows what was said
        # How the customer gave it: a choice picked by voice is a button for the engine but was spoken.
        source = "voice" if utterance.asr_confidence is not None else utterance.source
        started = time.perf_counter()
        engine = self._engines.get(session_id, self.engine)
        decision = engine.handle(session, utterance, when)
        latency_ms = (time.perf_counter() - started) * 1000
        history = self._history.setdefault(session_id, [])
        history.append(f"{decision.intent}: {shown}")
        refused = self.budget.drain()
        if self.store is not None:
            self.store.record_refusals(refused)
            self.store.record_turn(session_id, source, shown, decision, latency_ms, at=when)
            if decision.handoff is not None and self.summaries is not None:
                # Queued now with an extractive summary; the LLM's paragraph is written in the background.
                handoff = decision.handoff
                self.summaries.queue_handoff(session_id, handoff.kind, handoff.reason, decision.lang)
            if decision.action in ("end", "handoff"):
                self.end(session_id, "handoff" if decision.action == "handoff" else "resolved", now=when)
        return decision, latency_ms

    def end(self, session_id: str, outcome: str, *, now: datetime | None = None) -> None:
        """End a session in the store (with ``outcome``, at ``now``); its next turn starts a new one."""
        if self.store is not None:
            self.store.end_session(session_id, outcome, at=now)
        with self._lock:
            session = self._sessions.get(session_id)
        if session is not None:
            session.ended = True


def at_the_door(utterance: Utterance | None, text: str | None = None, button: str | None = None) -> Utterance:
    """The input as the engine takes it: typed text, a button or a ready utterance, cut to the limits here only."""
    if utterance is None:
        utterance = Utterance(source="button", button=button) if button else Utterance(text=text or "")
    if utterance.source == "button":  # a tap has no text; a choice picked by voice keeps what was said
        text = utterance.text[:MAX_INPUT_CHARS]
        return replace(utterance, text=text, button=(utterance.button or "")[:MAX_BUTTON_CHARS])
    if len(utterance.text) > MAX_INPUT_CHARS:
        return replace(utterance, text=utterance.text[:MAX_INPUT_CHARS])
    return utterance
