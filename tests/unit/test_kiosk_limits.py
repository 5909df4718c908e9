"""The kiosk-wide side-effect limit: cycling session ids cannot print 100 tickets or page staff 100 times.

Per-session limits are in test_session_limits.py; this budget counts all sessions together per window, refuses
politely, counts every refusal for ``/metrics`` and audits once per window.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from kiosk.admin.accounts import AdminDB
from kiosk.admin.charts import prometheus
from kiosk.conversation import Conversations
from kiosk.dialogue import DialogueEngine
from kiosk.dialogue.limits import SideEffectBudget, SideEffectLimits
from kiosk.policy import Policy
from kiosk.runtime.config import load_runtime_config
from kiosk.storage import Store
from tests.fakes import NOW

SCAM = "有人打电话说我涉嫌洗钱，让我把钱转到安全账户"
HUMAN = "I want to talk to a real person"
TICKET = "slot:queue_ticket:forex"


def test_the_budget_slides_and_reports_each_refusal_once() -> None:
    budget = SideEffectBudget(SideEffectLimits(window_s=60, tickets=2))
    assert [budget.take("ticket", f"s{i}", 100.0 + i) for i in range(4)] == [True, True, False, False]
    refused = budget.drain()
    assert [(r.kind, r.session_id, r.first_in_window) for r in refused] == [
        ("ticket", "s2", True),
        ("ticket", "s3", False),
    ]
    assert budget.drain() == []
    assert budget.take("handoff", "s9", 103.0)  # each kind has its own count
    assert not budget.take("ticket", "s4", 159.9)  # the first ticket (t=100) is still inside the window
    assert budget.take("ticket", "s5", 160.0)  # ... and now it is not
    assert [r.first_in_window for r in budget.drain()] == [False]  # same window as the first refusal at t=102
    assert budget.take("ticket", "s6", 162.0)  # t=101 has left the window too
    assert not budget.take("ticket", "s7", 163.0)
    assert not budget.take("ticket", "s8", 164.0)
    assert [r.first_in_window for r in budget.drain()] == [True, False]  # 61 s after the last audit: again


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "kiosk.db")


def _kiosk(policy: Policy, store: Store, limits: SideEffectLimits | None = None) -> Conversations:
    return Conversations(DialogueEngine(policy, tickets=store), store, resume_summaries=False, limits=limits)


def _audit_rows(store: Store) -> list[dict[str, str]]:
    db = AdminDB(store.path)
    try:
        return db.audit_log(action="side_effect_limit")
    finally:
        db.close()


def test_a_clock_stepped_back_does_not_fill_the_window() -> None:
    budget = SideEffectBudget(SideEffectLimits(window_s=60, tickets=2))
    assert budget.take("ticket", "a", 10_000.0)
    assert budget.take("ticket", "b", 10_001.0)
    assert not budget.take("ticket", "c", 10_002.0)  # full
    assert budget.take("ticket", "d", 5_000.0)  # the clock was corrected back by over an hour
    assert budget.take("ticket", "e", 5_001.0)
    assert not budget.take("ticket", "f", 5_002.0)  # and the limit holds from there


def test_cycling_session_ids_cannot_print_a_hundred_tickets(policy: Policy, store: Store) -> None:
    kiosk = _kiosk(policy, store)  # the default: 6 tickets a minute
    decisions = [kiosk.turn(f"cycle-{i}", button=TICKET, now=NOW)[0] for i in range(100)]
    printed = [d.ticket for d in decisions if d.ticket is not None]
    assert printed == ["C001", "C002", "C003", "C004", "C005", "C006"]  # no number is drawn for a refusal
    refused = decisions[50]
    assert (refused.action, refused.ticket, refused.emotion) == ("answer", None, "apologetic")
    assert "号票太多" in refused.reply  # a tap in a new session: Mandarin
    en = kiosk.turn("cycle-en", text="I need a queue ticket for foreign exchange", now=NOW)[0]
    assert en.ticket is None
    assert "too many queue tickets" in en.reply
    assert store.refused_effects() == {"ticket": 95}
    (audit,) = _audit_rows(store)  # counted every time, audited once per window
    assert (audit["username"], audit["target"]) == ("kiosk", "ticket")
    assert json.loads(audit["detail"]) == {"session": "cycle-6", "limit": 6, "window_s": 60.0}
    later = kiosk.turn("next-customer", button=TICKET, now=NOW + timedelta(seconds=61))[0]
    assert later.ticket == "C007"  # the window moved on


def test_cycling_session_ids_cannot_page_staff_a_hundred_times(policy: Policy, store: Store) -> None:
    kiosk = _kiosk(policy, store, SideEffectLimits(handoffs=3, risk_alerts=2))
    asked = [kiosk.turn(f"h-{i}", text=HUMAN, now=NOW)[0] for i in range(20)]
    warned = [kiosk.turn(f"r-{i}", text=SCAM, now=NOW)[0] for i in range(20)]
    assert sum(d.handoff is not None for d in asked) == 3
    assert sum(d.handoff is not None for d in warned) == 2
    assert [h.kind for h in store.handoffs(status=None)].count("handoff") == 3
    busy = asked[-1]
    assert (busy.action, busy.handoff) == ("answer", None)
    assert "too many requests" in busy.reply
    assert "counter" in busy.reply
    assert warned[-1].reply == warned[0].reply  # past the limit the customer is still warned
    assert warned[-1].action == "answer"
    assert store.refused_effects() == {"handoff": 17, "risk": 18}
    assert sorted(r["target"] for r in _audit_rows(store)) == ["handoff", "risk"]
    text = prometheus(AdminDB(store.path), up=True)
    assert 'kiosk_side_effects_refused_total{kind="handoff"} 17' in text
    assert 'kiosk_side_effects_refused_total{kind="risk"} 18' in text


def test_the_session_limit_answers_before_the_kiosk_limit(policy: Policy, store: Store) -> None:
    kiosk = _kiosk(policy, store, SideEffectLimits(handoffs=2))
    first = [kiosk.turn("same", text=HUMAN, now=NOW)[0] for _ in range(3)]
    assert [d.handoff is not None for d in first] == [True, True, False]
    assert "already" in first[-1].reply  # this customer's own limit, not the kiosk's
    assert store.refused_effects() == {}
    other = kiosk.turn("other", text=HUMAN, now=NOW)[0]
    assert other.handoff is None
    assert "too many requests" in other.reply


def test_the_limits_are_runtime_settings(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text("[side_effects]\nwindow_s = 300\ntickets = 1\n", encoding="utf-8")
    limits = load_runtime_config(path).side_effects
    assert (limits.window_s, limits.tickets, limits.handoffs) == (300, 1, 4)
    path.write_text("[side_effects]\nticket = 1\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"side_effects\.ticket"):
        load_runtime_config(path)
    path.write_text("[side_effects]\ntickets = -1\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"side_effects\.tickets"):
        load_runtime_config(path)
