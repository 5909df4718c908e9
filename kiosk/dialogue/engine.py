"""The dialogue engine: one utterance in, one decision out. Pure; no I/O."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from edge_models.normalize import Normalized, Normalizer
from kiosk.dialogue.compose import AnswerComposer, LlmComposer
from kiosk.dialogue.decision import Action, Button, Decision, Emotion, Handoff, Reason, ReplySource
from kiosk.dialogue.faq import EmbedFn, FaqMatcher
from kiosk.dialogue.flows import DepositRates, Flow, FlowContext, Outcome, QueueTicketFlow, build_flows
from kiosk.dialogue.ports import IntentClassifier, LlmClassifier, MemoryTicketDispenser, TicketDispenser
from kiosk.dialogue.reasons import plain_reason, with_handoff
from kiosk.dialogue.replies import STAFF_BUTTON_ID, Replies
from kiosk.dialogue.session import DialogueSession, FlowState
from kiosk.dialogue.understanding import Understander, Understanding
from kiosk.dialogue.utterance import Utterance
from kiosk.policy import Policy

# Intents that interrupt a flow even when the utterance also names a slot value.
_INTERRUPTING = frozenset({"card_lost", "fraud_report", "human_agent", "complaint", "goodbye"})
# Intents whose service has side effects (tickets, staff calls, alerts).
_ACTIONS = frozenset({"queue_ticket", "human_agent", "complaint", "fraud_report", "goodbye"})
# Out of hours, when the policy has no ``ticket_closed`` message.
_TICKET_CLOSED = {
    "zh": "抱歉，本网点现在不营业，暂时不能取号。下次营业时间：{opens}。",
    "en": "Sorry, the branch is closed now, so I can't give you a queue ticket. We open again {opens}.",
}
# Past a session's limits (policy thresholds), when the policy has no message of its own.
_LIMIT_TEXTS = {
    "handoff_limit": {
        "zh": "工作人员已经收到您的请求，请稍候，他们马上就来。",
        "en": "Our staff already have your request; please wait a moment, someone is on the way.",
    },
    "ticket_limit": {
        "zh": "您已经取过号了，请留意叫号。",
        "en": "You already have a queue ticket; please wait for your number to be called.",
    },
    # The kiosk-wide limits (all sessions together, per minute by default).
    "ticket_busy": {
        "zh": "抱歉，本机刚刚发出的号票太多，暂时不能再取号。请稍等一两分钟再试，或直接到柜台咨询。",
        "en": "Sorry, this kiosk has just issued too many queue tickets and cannot print another right now. "
        "Please try again in a minute or two, or ask at the counter.",
    },
    "handoff_busy": {
        "zh": "抱歉，工作人员此刻收到的请求太多，暂时无法通过本机呼叫。请直接到柜台，我们会尽快为您服务。",
        "en": "Sorry, our staff have too many requests from this kiosk right now, so I cannot call them for you. "
        "Please go to the counter and we will help you as soon as we can.",
    },
}
# Intents never offered as clarification choices.
_NOT_OFFERED = frozenset({"out_of_scope", "greeting", "goodbye", "smalltalk", "human_agent"})


def _lang(value: str | None) -> str:
    return "zh" if value == "zh" else "en"


class DialogueEngine:
    """Decides each turn of a conversation (ARCHITECTURE.md, "A turn").

    Args:
        policy: The active policy bundle.
        classifier: The intent model; None runs on rules alone.
        llm: The LLM stage for unsure turns; None skips it.
        composer: The LLM that may word FAQ answers (checked against the passage); None: passages as written.
        embed: Sentence embeddings for English FAQ retrieval by meaning; None: lexical only.
        tickets: Issues queue ticket numbers.
        normalizer: Text normaliser (OpenCC-backed by default).

    Raises:
        UnknownFlowError: If the policy enables a flow that is not registered (``kiosk.dialogue.flows.FLOWS``).
    """

    def __init__(
        self,
        policy: Policy,
        classifier: IntentClassifier | None = None,
        *,
        llm: LlmClassifier | None = None,
        composer: LlmComposer | None = None,
        embed: EmbedFn | None = None,
        tickets: TicketDispenser | None = None,
        normalizer: Normalizer | None = None,
    ) -> None:
        self.policy = policy
        self.normalize = normalizer or Normalizer()
        self._faq = FaqMatcher(policy.knowledge, self.normalize, embed)
        self.understander = Understander(policy, classifier, self._faq, llm)
        self.composer = AnswerComposer(composer, policy.thresholds)
        self._replies = Replies(policy)
        self._thresholds = policy.thresholds
        self._deposits = DepositRates(policy, self._replies)
        self._flows = build_flows(FlowContext(policy, self._replies, tickets or MemoryTicketDispenser()))

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
        session.at = now.timestamp()
        if utterance.source == "button" and utterance.button:
            if utterance.lang in ("zh", "en"):  # a spoken answer matched to a button: the language heard
                session.lang = utterance.lang
            return self._button(session, utterance.button, now)
        norm = self.normalize(utterance.text)
        session.lang = _lang(norm.lang or utterance.lang or session.lang)
        lang = session.lang
        if not norm.text:
            empty = Understanding("out_of_scope", "fallback", 0.0)
            return self._decision(session, self._replies.text("empty", lang), empty, "clarify", self._top(lang))
        u = self.understander.understand(norm)
        low_asr = (
            utterance.source == "voice"
            and utterance.asr_confidence is not None
            and utterance.asr_confidence < self._thresholds.asr_min_confidence
        )
        if low_asr and u.stage != "safety":
            heard = f"speech recognition unsure ({utterance.asr_confidence:.2f}); asked to repeat"
            unsure = replace(u, stage="fallback", reason=Reason(stage="fallback", text=heard))
            return self._decision(session, self._replies.text("ask_repeat", lang), unsure, "clarify", self._top(lang))
        if session.flow is not None and u.stage != "safety":
            in_flow = self._continue_flow(session, session.flow, norm, u, now)
            if in_flow is not None:
                return in_flow
        return self._act(session, u, norm, now)

    def _top(self, lang: str) -> tuple[Button, ...]:
        return self._replies.top_buttons(lang)

    def _continue_flow(
        self, session: DialogueSession, state: FlowState, norm: Normalized, u: Understanding, now: datetime
    ) -> Decision | None:
        flow = self._flows[state.name]
        value = flow.extract(norm.text)
        switching = u.decided and u.intent != flow.intent
        if value is not None and not (switching and u.intent in _INTERRUPTING):
            session.flow = None
            verdict = Understanding(flow.intent, "flow", 1.0, u.candidates)
            outcome = self._complete(session, flow, value, now)
            return self._from_outcome(session, verdict, outcome)
        if switching:
            session.flow = None
            return None
        if u.decided and u.intent == flow.intent:
            return None
        state.asks += 1
        if state.asks >= self._thresholds.max_misses:
            return self._handoff(session, "repeated_misses", replace(u, stage="fallback"), "handoff_misses")
        asks = Reason(stage="fallback", text=f"the {flow.intent} flow did not find the detail it asked for; asks again")
        verdict = Understanding(flow.intent, "fallback", u.confidence, u.candidates, reason=asks)
        return self._from_outcome(session, verdict, flow.ask(session.lang))

    def _act(self, session: DialogueSession, u: Understanding, norm: Normalized, now: datetime) -> Decision:
        lang = session.lang
        if not u.decided:
            return self._clarify(session, u)
        if u.stage == "llm" and u.intent in _ACTIONS:
            # The LLM never triggers an action by itself: the customer confirms it.
            return self._clarify(session, u, first=u.intent)
        session.misses = 0
        if u.safety is not None and u.safety.kind == "injection":
            return self._decision(session, self._replies.text("injection", lang), u, "answer", self._top(lang))
        if u.safety is not None and u.safety.kind == "emergency":
            return self._decision(
                session,
                self._replies.text("emergency", lang),
                u,
                "handoff",
                handoff=Handoff(kind="risk", reason="emergency"),
                emotion="concerned",
            )
        return self._serve(session, u, norm.text, now)

    def _serve(self, session: DialogueSession, u: Understanding, text: str, now: datetime) -> Decision:
        lang, intent = session.lang, u.intent
        session.flow = None
        if intent == "fraud_report":
            risk = Handoff(kind="risk", reason="fraud_pattern")
            reply = self._replies.text("risk_alert", lang)
            return self._decision(session, reply, u, "risk_alert", handoff=risk, emotion="concerned")
        if intent == "human_agent":
            return self._handoff(session, "requested", u, "handoff")
        if intent == "complaint":
            reply = f"{self._replies.answer(intent, lang)} {self._replies.text('handoff', lang)}"
            handoff = Handoff(kind="handoff", reason="complaint")
            return self._decision(session, reply, u, "handoff", handoff=handoff, emotion="apologetic")
        if intent == "goodbye":
            session.ended = True
            return self._decision(session, self._replies.answer(intent, lang), u, "end", emotion="warm")
        if intent == "out_of_scope":
            reply = self._replies.text("not_understood", lang)
            return self._decision(session, reply, u, "answer", self._top(lang), emotion="apologetic")
        if intent in self._flows:
            flow = self._flows[intent]
            value = flow.extract(text)
            outcome = self._closed(session, intent) or (
                self._complete(session, flow, value, now) if value is not None else flow.ask(lang)
            )
            if not outcome.done:
                session.flow = FlowState(intent)
            return self._from_outcome(session, u, outcome)
        if intent == "deposit_rates":
            return self._from_outcome(session, u, self._deposits.quote(text, lang, now))
        buttons: tuple[Button, ...] = (self._replies.staff_button(lang),)
        emotion: Emotion = "neutral"
        if intent in ("greeting", "smalltalk"):
            emotion = "warm"
            buttons = self._top(lang) if intent == "greeting" else buttons
        elif intent == "card_lost":
            emotion = "concerned"
            ticket = Button(id="slot:queue_ticket:accounts", label=self._replies.text("ticket_button", lang))
            buttons = (ticket, *buttons)
        reply, source = self._answer(u, text, lang)
        return self._decision(session, reply, u, "answer", buttons, emotion=emotion, source=source)

    def _answer(self, u: Understanding, text: str, lang: str) -> tuple[str, ReplySource | None]:
        """The FAQ passage that answers a detailed question (perhaps in the LLM's words), else the intent's answer."""
        hit = u.faq
        if hit is None and text:
            best = self._faq.best(text, u.intent)
            if best is not None and best.score >= self._thresholds.faq_detail:
                hit = best
        if hit is not None:
            return self.composer.answer(text, hit, lang)
        return self._replies.answer(u.intent, lang), None

    def _clarify(self, session: DialogueSession, u: Understanding, first: str | None = None) -> Decision:
        lang = session.lang
        session.misses += 1
        if session.misses >= self._thresholds.max_misses:
            return self._handoff(session, "repeated_misses", u, "handoff_misses")
        ranked = [first] if first else []
        ranked += [c.intent for c in u.candidates if c.intent not in _NOT_OFFERED and c.intent != first]
        offered = ranked[: self._thresholds.clarify_options]
        if not offered:
            offered = list(self.policy.flows.top_services[: self._thresholds.clarify_options])
        buttons = (*(self._replies.intent_button(i, lang) for i in offered), self._replies.staff_button(lang))
        return self._decision(session, self._replies.text("clarify", lang), u, "clarify", buttons, emotion="apologetic")

    def _handoff(self, session: DialogueSession, reason: str, u: Understanding, message: str) -> Decision:
        session.flow = None
        session.misses = 0
        verdict = replace(u, intent="human_agent")
        reply = self._replies.text(message, session.lang)
        return self._decision(session, reply, verdict, "handoff", handoff=Handoff(kind="handoff", reason=reason))

    def _button(self, session: DialogueSession, button: str, now: datetime) -> Decision:
        kind, _, rest = button.partition(":")
        if button == STAFF_BUTTON_ID:
            return self._handoff(session, "requested", Understanding("human_agent", "button", 1.0), "handoff")
        if kind == "intent" and rest in self.policy.knowledge.answers:
            session.misses = 0
            return self._serve(session, Understanding(rest, "button", 1.0), "", now)
        flow_name, _, value = rest.partition(":")
        flow = self._flows.get(flow_name)
        if kind == "slot" and flow is not None and value:
            session.misses = 0
            outcome = self._complete(session, flow, value, now)
            session.flow = None if outcome.done else FlowState(flow_name)
            return self._from_outcome(session, Understanding(flow_name, "button", 1.0), outcome)
        return self._clarify(session, Understanding("out_of_scope", "fallback", 0.0))

    def _limit_text(self, key: str, lang: str) -> str:
        texts = self.policy.messages.texts
        return texts[key].get(lang) if key in texts else _LIMIT_TEXTS[key][_lang(lang)]

    def _closed(self, session: DialogueSession, flow: str) -> Outcome | None:
        """No queue ticket past the session's ticket limit, nor out of opening hours (``session.closed``).

        Out of hours the reply says when the branch opens next.
        """
        if flow != QueueTicketFlow.intent:
            return None
        lang = session.lang
        if session.effects.tickets >= self._thresholds.max_tickets_per_session:
            session.flow = None
            return Outcome(self._limit_text("ticket_limit", lang), "answer", emotion="apologetic")
        if session.closed is None:
            return None
        session.flow = None
        texts = self.policy.messages.texts
        template = texts["ticket_closed"].get(lang) if "ticket_closed" in texts else _TICKET_CLOSED[_lang(lang)]
        return Outcome(template.format(opens=session.closed.get(lang, "")), "answer", emotion="apologetic")

    def _complete(self, session: DialogueSession, flow: Flow, value: str, now: datetime) -> Outcome:
        """Complete ``flow`` with ``value``, unless ``_closed`` or the kiosk-wide ticket budget says no.

        A refused ticket draws no number at all, so the queue's numbering has no gap.
        """
        closed = self._closed(session, flow.intent)
        if closed is not None:
            return closed
        budget = session.budget
        ticket = flow.intent == QueueTicketFlow.intent
        if ticket and budget is not None and not budget.take("ticket", session.id, session.at):
            session.flow = None
            return Outcome(self._limit_text("ticket_busy", session.lang), "answer", emotion="apologetic")
        return flow.complete(value, session.lang, now)

    def _from_outcome(self, session: DialogueSession, u: Understanding, outcome: Outcome) -> Decision:
        buttons = outcome.buttons
        if not any(b.id == STAFF_BUTTON_ID for b in buttons):
            buttons = (*buttons, self._replies.staff_button(session.lang))
        return self._decision(
            session, outcome.reply, u, outcome.action, buttons, ticket=outcome.ticket, emotion=outcome.emotion
        )

    def _may_raise(self, session: DialogueSession, handoff: Handoff) -> tuple[bool, str]:
        """Count a hand-off or risk alert against the session's and the kiosk's limits.

        Returns:
            Whether it may be raised, and if not the key of the hand-off reply: ``handoff_limit`` (this session
            has raised its share) or ``handoff_busy`` (the whole kiosk has, in the budget's window).
        """
        effects, limits = session.effects, self._thresholds
        risk = handoff.kind == "risk"
        raised = effects.risk_alerts if risk else effects.handoffs
        if raised >= (limits.max_risk_alerts_per_session if risk else limits.max_handoffs_per_session):
            return False, "handoff_limit"
        if session.budget is not None and not session.budget.take(handoff.kind, session.id, session.at):
            return False, "handoff_busy"
        if risk:
            effects.risk_alerts += 1
        else:
            effects.handoffs += 1
        return True, ""

    def _decision(
        self,
        session: DialogueSession,
        reply: str,
        u: Understanding,
        action: Action,
        buttons: tuple[Button, ...] = (),
        *,
        ticket: str | None = None,
        handoff: Handoff | None = None,
        emotion: Emotion = "neutral",
        source: ReplySource | None = None,
    ) -> Decision:
        allowed, refusal = self._may_raise(session, handoff) if handoff is not None else (True, "")
        if handoff is not None and not allowed:
            # Past a limit the turn still answers (a risk warning is still given), but staff get no new alert.
            if handoff.kind == "handoff":
                reply = self._limit_text(refusal, session.lang)
            handoff, action = None, "answer"
        if ticket is not None:
            session.effects.tickets += 1
        if not buttons and action not in ("handoff", "risk_alert"):
            buttons = (self._replies.staff_button(session.lang),)
        session.intents.append(u.intent)
        reason = u.reason if u.reason is not None and u.reason.stage == u.stage else plain_reason(u.stage, u.intent)
        return Decision(
            reply=reply,
            lang="zh" if session.lang == "zh" else "en",
            intent=u.intent,
            stage=u.stage,
            confidence=max(0.0, min(1.0, round(u.confidence, 4))),
            action=action,
            buttons=buttons,
            emotion=emotion,
            ticket=ticket,
            handoff=handoff,
            flow=session.flow.name if session.flow else None,
            candidates=u.candidates,
            source=source,
            reason=with_handoff(reason, handoff),
        )
