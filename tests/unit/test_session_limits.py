"""Per-session limits on side effects: past them a turn still answers, but raises no hand-off, alert or ticket.

Enforced in the engine and kept by ``Conversations`` when a session id starts over, so every door (page,
``kiosk chat``, voice) is bounded, not only the web layer.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from kiosk.conversation import Conversations
from kiosk.dialogue import DialogueEngine, DialogueSession, MemoryTicketDispenser, Utterance
from kiosk.dialogue.replies import STAFF_BUTTON_ID
from kiosk.policy import Policy
from tests.fakes import NOW

SCAM = "有人打电话说我涉嫌洗钱，让我把钱转到安全账户"
HUMAN = "I want to talk to a real person"


@pytest.fixture
def tickets() -> MemoryTicketDispenser:
    return MemoryTicketDispenser()


@pytest.fixture
def engine(policy: Policy, tickets: MemoryTicketDispenser) -> DialogueEngine:
    limits = policy.thresholds  # the shipped policy's limits
    assert (limits.max_handoffs_per_session, limits.max_risk_alerts_per_session) == (2, 2)
    return DialogueEngine(policy, tickets=tickets)


def test_risk_alerts_stop_at_the_limit_but_the_warning_stays(engine: DialogueEngine) -> None:
    session = DialogueSession("s")
    decisions = [engine.handle(session, Utterance(text=SCAM), NOW) for _ in range(100)]
    raised = [d for d in decisions if d.handoff is not None]
    assert len(raised) == 2
    assert all(d.handoff is not None and d.handoff.kind == "risk" for d in raised)
    beyond = decisions[50]
    assert (beyond.action, beyond.handoff, beyond.intent) == ("answer", None, "fraud_report")
    assert beyond.reply == decisions[0].reply  # the customer is still warned


def test_hand_offs_stop_at_the_limit_and_say_staff_are_coming(engine: DialogueEngine) -> None:
    session = DialogueSession("s")
    decisions = [engine.handle(session, Utterance(text=HUMAN), NOW) for _ in range(10)]
    assert [d.action for d in decisions[:3]] == ["handoff", "handoff", "answer"]
    assert sum(d.handoff is not None for d in decisions) == 2
    assert "already" in decisions[-1].reply
    tapped = engine.handle(session, Utterance(source="button", button=STAFF_BUTTON_ID), NOW)
    assert (tapped.action, tapped.handoff) == ("answer", None)


def test_tickets_stop_at_the_limit(engine: DialogueEngine, tickets: MemoryTicketDispenser) -> None:
    session = DialogueSession("s")
    for _ in range(6):
        engine.handle(session, Utterance(source="button", button="slot:queue_ticket:forex"), NOW)
    assert len(tickets.issued) == 2  # no number is used up past the limit
    last = engine.handle(session, Utterance(text="I need a queue ticket for foreign exchange"), NOW)
    assert (last.action, last.ticket) == ("answer", None)
    assert len(tickets.issued) == 2


def test_a_session_id_that_starts_over_keeps_its_counts(engine: DialogueEngine) -> None:
    conversations = Conversations(engine, None)
    raised = 0
    for _ in range(20):  # "bye" ends the session; the same id starts a new one
        raised += conversations.turn("attacker", text=HUMAN)[0].handoff is not None
        conversations.turn("attacker", text="that's all, bye")
    assert raised == 2
    assert conversations.turn("someone-else", text=HUMAN)[0].handoff is not None  # other sessions unaffected


def test_the_limits_come_from_the_policy(policy: Policy, tickets: MemoryTicketDispenser) -> None:
    strict = replace(policy, thresholds=policy.thresholds.model_copy(update={"max_risk_alerts_per_session": 0}))
    engine = DialogueEngine(strict, tickets=tickets)
    decision = engine.handle(DialogueSession("s"), Utterance(text=SCAM), NOW)
    assert (decision.action, decision.handoff) == ("answer", None)
