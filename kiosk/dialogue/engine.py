"""The dialogue engine: one utterance in, one decision out. Pure; no I/O."""

from __future__ import annotations

from datetime import datetime

from kiosk.dialogue.decision import Button, Decision, Handoff
from kiosk.dialogue.flows import (
    AccountOpenFlow,
    BranchInfoFlow,
    DepositRates,
    ExchangeRateFlow,
    Flow,
    Outcome,
    QueueTicketFlow,
)
from kiosk.dialogue.normalize import Normalized, Normalizer
from kiosk.dialogue.ports import IntentClassifier, MemoryTicketDispenser, TicketDispenser
from kiosk.dialogue.replies import STAFF_BUTTON_ID, Replies
from kiosk.dialogue.session import DialogueSession, FlowState
from kiosk.dialogue.understanding import Understander, Understanding
from kiosk.dialogue.utterance import Utterance
from kiosk.policy.loader import Policy

# Intents that interrupt a flow even when the utterance also names a slot value.
_INTERRUPTING = frozenset({"card_lost", "fraud_report", "human_agent", "complaint", "goodbye"})
# Intents never offered as clarification choices.
_NOT_OFFERED = frozenset({"out_of_scope", "greeting", "goodbye", "smalltalk", "human_agent"})


def _lang(value: str | None) -> str:
    return "zh" if value == "zh" else "en"


class DialogueEngine:
    """Decides each turn of a conversation (ARCHITECTURE.md, "A turn").

    Args:
        policy: The active policy bundle.
        classifier: The intent model; None runs on rules alone.
        tickets: Issues queue ticket numbers.
        normalizer: Text normaliser (OpenCC-backed by default).
    """

    def __init__(
        self,
        policy: Policy,
        classifier: IntentClassifier | None = None,
        *,
        tickets: TicketDispenser | None = None,
        normalizer: Normalizer | None = None,
    ) -> None:
        self.policy = policy
        self.normalize = normalizer or Normalizer()
        self.understander = Understander(policy, classifier)
        self._replies = Replies(policy)
        self._thresholds = policy.thresholds
        self._deposits = DepositRates(policy, self._replies)
        flows: list[Flow] = [
            QueueTicketFlow(policy, self._replies, tickets or MemoryTicketDispenser()),
            ExchangeRateFlow(policy, self._replies),
            AccountOpenFlow(policy, self._replies),
            BranchInfoFlow(policy, self._replies),
        ]
        self._flows = {flow.intent: flow for flow in flows}

    # -- understanding only (``kiosk nlu``) -------------------------------

    def understand(self, text: str, lang_hint: str | None = None) -> tuple[Normalized, Understanding]:
        """Normalise and understand ``text`` without any conversation state."""
        norm = self.normalize(text)
        if not norm.text:
            return norm, Understanding("out_of_scope", "fallback", 0.0)
        return norm, self.understander.understand(norm)

    # -- a turn ----------------------------------------------------------

    def handle(self, session: DialogueSession, utterance: Utterance, now: datetime) -> Decision:
        """Decide the reply to one utterance and update ``session``.

        Args:
            session: The conversation; its flow, language and miss count change.
            utterance: What the customer said, typed or tapped.
            now: The current time (rates older than their max age are not quoted).
        """
        session.turns += 1
        if utterance.source == "button" and utterance.button:
            return self._button(session, utterance.button, now)
        norm = self.normalize(utterance.text)
        session.lang = _lang(norm.lang or utterance.lang or session.lang)
        lang = session.lang
        if not norm.text:
            return self._decision(
                session, self._replies.text("empty", lang), "out_of_scope", "fallback", 0.0, "clarify",
                buttons=self._replies.top_buttons(lang),
            )
        low_asr = (
            utterance.source == "voice"
            and utterance.asr_confidence is not None
            and utterance.asr_confidence < self._thresholds.asr_min_confidence
        )
        understanding = self.understander.understand(norm)
        if low_asr and understanding.stage != "safety":
            return self._decision(
                session, self._replies.text("ask_repeat", lang), understanding.intent, "fallback",
                understanding.confidence, "clarify", buttons=self._replies.top_buttons(lang), understanding=understanding,
            )
        if session.flow is not None and understanding.stage != "safety":
            in_flow = self._continue_flow(session, session.flow, norm, understanding, now)
            if in_flow is not None:
                return in_flow
        return self._act(session, understanding, norm, now)

    def _continue_flow(
        self,
        session: DialogueSession,
        state: FlowState,
        norm: Normalized,
        understanding: Understanding,
        now: datetime,
    ) -> Decision | None:
        flow = self._flows[state.name]
        value = flow.extract(norm.text)
        switching = understanding.decided and understanding.intent != flow.intent
        if value is not None and not (switching and understanding.intent in _INTERRUPTING):
            session.flow = None
            return self._from_outcome(session, flow.intent, "flow", 1.0, flow.complete(value, session.lang, now))
        if switching:
            session.flow = None
            return None
        if understanding.decided and understanding.intent == flow.intent:
            return None
        state.asks += 1
        if state.asks >= self._thresholds.max_misses:
            session.flow = None
            return self._handoff(session, "repeated_misses", understanding.confidence, "handoff_misses")
        outcome = flow.ask(session.lang)
        return self._from_outcome(session, flow.intent, "fallback", understanding.confidence, outcome)

    def _act(self, session: DialogueSession, u: Understanding, norm: Normalized, now: datetime) -> Decision:
        lang = session.lang
        if not u.decided:
            return self._clarify(session, u)
        session.misses = 0
        if u.safety is not None and u.safety.kind == "injection":
            reply = self._replies.text("injection", lang)
            return self._decision(
                session, reply, u.intent, u.stage, u.confidence, "answer",
                buttons=self._replies.top_buttons(lang), understanding=u,
            )
        if u.safety is not None and u.safety.kind == "emergency":
            return self._decision(
                session, self._replies.text("emergency", lang), "human_agent", u.stage, u.confidence, "handoff",
                handoff=Handoff(kind="risk", reason="emergency"), emotion="concerned", understanding=u,
            )
        return self._serve(session, u.intent, u.stage, u.confidence, norm.text, now, u)

    def _serve(
        self,
        session: DialogueSession,
        intent: str,
        stage: str,
        confidence: float,
        text: str,
        now: datetime,
        understanding: Understanding | None = None,
    ) -> Decision:
        lang = session.lang
        session.flow = None
        if intent == "fraud_report":
            return self._decision(
                session, self._replies.text("risk_alert", lang), intent, stage, confidence, "risk_alert",
                handoff=Handoff(kind="risk", reason="fraud_pattern"), emotion="concerned", understanding=understanding,
            )
        if intent == "human_agent":
            return self._handoff(session, "requested", confidence, "handoff", stage=stage, understanding=understanding)
        if intent == "complaint":
            reply = f"{self._replies.answer(intent, lang)} {self._replies.text('handoff', lang)}"
            return self._decision(
                session, reply, intent, stage, confidence, "handoff", handoff=Handoff(kind="handoff", reason="complaint"),
                emotion="apologetic", understanding=understanding,
            )
        if intent == "goodbye":
            session.ended = True
            return self._decision(
                session, self._replies.answer(intent, lang), intent, stage, confidence, "end", emotion="warm",
                understanding=understanding,
            )
        if intent == "out_of_scope":
            reply = self._replies.text("not_understood", lang)
            return self._decision(
                session, reply, intent, stage, confidence, "answer", buttons=self._replies.top_buttons(lang),
                emotion="apologetic", understanding=understanding,
            )
        if intent in self._flows:
            flow = self._flows[intent]
            value = flow.extract(text)
            outcome = flow.complete(value, lang, now) if value is not None else flow.ask(lang)
            if not outcome.done:
                session.flow = FlowState(intent)
            return self._from_outcome(session, intent, stage, confidence, outcome, understanding)
        if intent == "deposit_rates":
            return self._from_outcome(
                session, intent, stage, confidence, self._deposits.quote(text, lang, now), understanding
            )
        buttons: tuple[Button, ...] = (self._replies.staff_button(lang),)
        if intent == "greeting":
            buttons = self._replies.top_buttons(lang)
        elif intent == "card_lost":
            buttons = (Button(id="slot:queue_ticket:accounts", label=self._replies.text("ticket_button", lang)), *buttons)
        emotion = "warm" if intent in ("greeting", "smalltalk") else "concerned" if intent == "card_lost" else "neutral"
        return self._decision(
            session, self._replies.answer(intent, lang), intent, stage, confidence, "answer",
            buttons=buttons, emotion=emotion, understanding=understanding,
        )

    def _clarify(self, session: DialogueSession, u: Understanding) -> Decision:
        lang = session.lang
        session.misses += 1
        if session.misses >= self._thresholds.max_misses:
            return self._handoff(session, "repeated_misses", u.confidence, "handoff_misses", stage="fallback", understanding=u)
        offered = [c.intent for c in u.candidates if c.intent not in _NOT_OFFERED][: self._thresholds.clarify_options]
        if not offered:
            offered = list(self.policy.flows.top_services[: self._thresholds.clarify_options])
        buttons = (*(self._replies.intent_button(i, lang) for i in offered), self._replies.staff_button(lang))
        return self._decision(
            session, self._replies.text("clarify", lang), u.intent, "fallback", u.confidence, "clarify",
            buttons=buttons, emotion="apologetic", understanding=u,
        )

    def _handoff(
        self,
        session: DialogueSession,
        reason: str,
        confidence: float,
        message: str,
        *,
        stage: str = "fallback",
        understanding: Understanding | None = None,
    ) -> Decision:
        session.flow = None
        session.misses = 0
        return self._decision(
            session, self._replies.text(message, session.lang), "human_agent", stage, confidence, "handoff",
            handoff=Handoff(kind="handoff", reason=reason), emotion="warm", understanding=understanding,
        )

    def _button(self, session: DialogueSession, button: str, now: datetime) -> Decision:
        kind, _, rest = button.partition(":")
        if button == STAFF_BUTTON_ID:
            return self._handoff(session, "requested", 1.0, "handoff", stage="button")
        if kind == "intent" and rest in self._replies_intents():
            session.misses = 0
            return self._serve(session, rest, "button", 1.0, "", now)
        if kind == "slot":
            flow_name, _, value = rest.partition(":")
            flow = self._flows.get(flow_name)
            if flow is not None and value:
                session.flow = None
                session.misses = 0
                outcome = flow.complete(value, session.lang, now)
                if not outcome.done:
                    session.flow = FlowState(flow_name)
                return self._from_outcome(session, flow_name, "button", 1.0, outcome)
        return self._clarify(session, Understanding("out_of_scope", "fallback", 0.0))

    def _replies_intents(self) -> frozenset[str]:
        return frozenset(self.policy.knowledge.answers)

    def _from_outcome(
        self,
        session: DialogueSession,
        intent: str,
        stage: str,
        confidence: float,
        outcome: Outcome,
        understanding: Understanding | None = None,
    ) -> Decision:
        buttons = outcome.buttons
        if not any(b.id == STAFF_BUTTON_ID for b in buttons):
            buttons = (*buttons, self._replies.staff_button(session.lang))
        return self._decision(
            session, outcome.reply, intent, stage, confidence, outcome.action, buttons=buttons,
            ticket=outcome.ticket, emotion=outcome.emotion, understanding=understanding,
        )

    def _decision(
        self,
        session: DialogueSession,
        reply: str,
        intent: str,
        stage: str,
        confidence: float,
        action: str,
        *,
        buttons: tuple[Button, ...] = (),
        ticket: str | None = None,
        handoff: Handoff | None = None,
        emotion: str = "neutral",
        understanding: Understanding | None = None,
    ) -> Decision:
        if not buttons and action not in ("handoff", "risk_alert"):
            buttons = (self._replies.staff_button(session.lang),)
        session.intents.append(intent)
        return Decision.model_validate(
            {
                "reply": reply,
                "lang": _lang(session.lang),
                "intent": intent,
                "stage": stage,
                "confidence": max(0.0, min(1.0, round(confidence, 4))),
                "action": action,
                "buttons": buttons,
                "emotion": emotion,
                "ticket": ticket,
                "handoff": handoff,
                "flow": session.flow.name if session.flow else None,
                "candidates": understanding.candidates if understanding else (),
            }
        )
