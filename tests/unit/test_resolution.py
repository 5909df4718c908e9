"""Ratings and resolution figures, computed on a crafted kiosk.db (issue 14)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.admin.accounts import AdminDB
from kiosk.admin.charts import prometheus
from kiosk.admin.resolution import figures, outcomes
from kiosk.conversation import RatingError, parse_rating, rating_of
from kiosk.dialogue import Decision
from kiosk.storage import Store


@pytest.mark.parametrize(
    ("text", "rating"),
    [
        ("满意", "good"),
        ("非常满意！", "good"),
        ("不满意", "bad"),
        ("不太满意", "bad"),
        ("Good", "good"),
        ("bad", "bad"),
        ("not good", "bad"),
        ("跳过", "skipped"),
        ("skip", "skipped"),
        ("我想查一下汇率", None),
        ("goodbye", None),
        ("good " * 20, None),
    ],
    ids=repr,
)
def test_spoken_ratings(text: str, rating: str | None) -> None:
    assert parse_rating(text) == rating


def test_rating_of_refuses_what_is_not_a_rating() -> None:
    assert rating_of("skipped", None) == "skipped"
    assert rating_of(None, "满意") == "good"
    for choice, text in (("great", None), (None, "我要取号"), (None, None)):
        with pytest.raises(RatingError):
            rating_of(choice, text)


def turn(intent: str, action: str, stage: str = "model", lang: str = "zh") -> Decision:
    return Decision(reply="r", lang=lang, intent=intent, stage=stage, confidence=0.9, action=action)  # type: ignore[arg-type]


@pytest.fixture
def db(tmp_path: Path) -> AdminDB:
    store = Store(tmp_path / "kiosk.db")
    # a: card lost answered at once, rated good -> first contact
    for d in (turn("greeting", "answer"), turn("card_lost", "answer")):
        store.record_turn("a", "text", "x", d, 1.0)
    # b: card lost after a clarification, rated bad -> served, not first contact
    for d in (turn("card_lost", "clarify", "fallback"), turn("card_lost", "answer")):
        store.record_turn("b", "text", "x", d, 1.0)
    # c: queue ticket in English, skipped rating -> first contact, ticket
    for d in (turn("queue_ticket", "ask", lang="en"), turn("queue_ticket", "ticket", "flow", lang="en")):
        store.record_turn("c", "text", "x", d, 1.0)
    # d: card lost handed to staff -> not first contact, unrated
    store.record_turn("d", "text", "x", turn("card_lost", "answer"), 1.0)
    store.record_turn("d", "text", "x", turn("human_agent", "handoff"), 1.0)
    store.add_handoff("d", "handoff", "requested", "zh", "s")
    # e: a greeting, an unclear question and goodbye -> intent "(unclear)", not served; f: hello and goodbye only
    for d in (turn("greeting", "answer", lang="en"), turn("fees", "clarify", "fallback", "en"), turn("goodbye", "end")):
        store.record_turn("e", "text", "x", d, 1.0)
    for d in (turn("greeting", "answer"), turn("goodbye", "end")):
        store.record_turn("f", "text", "x", d, 1.0)
    assert store.rate_session("a", "good", "tap")
    assert store.rate_session("b", "good", "tap")
    assert store.rate_session("b", "bad", "text")  # the last rating counts
    assert store.rate_session("c", "skipped", "tap")
    assert not store.rate_session("nobody", "good", "tap")
    store.close()
    return AdminDB(tmp_path / "kiosk.db")


def test_first_contact_satisfaction_and_tickets(db: AdminDB) -> None:
    items = {o.session_id: o for o in outcomes(db, "2000-01-01")}
    assert [items[s].first_contact for s in "abcdef"] == [True, False, True, False, False, False]
    assert (items["e"].intent, items["e"].served, items["f"].intent) == ("(unclear)", False, "(none)")
    assert (items["b"].repeated, items["d"].handed_off, items["c"].ticket) == (True, True, True)
    assert (items["a"].intent, items["c"].intent, items["c"].lang) == ("card_lost", "queue_ticket", "en")
    by_intent = {f.group: f for f in figures(list(items.values()), "intent")}
    card = by_intent["card_lost"]
    assert (card.sessions, card.first_contact, card.good, card.bad, card.skipped) == (3, 1, 1, 1, 0)
    assert card.satisfaction == pytest.approx(0.5)
    assert by_intent["queue_ticket"].satisfaction is None  # skipped only: counted, not scored
    assert by_intent["queue_ticket"].ticket_rate == 1.0
    by_lang = {f.group: f for f in figures(list(items.values()), "lang")}
    assert (by_lang["zh"].sessions, by_lang["en"].sessions) == (5, 1)  # a session takes its last turn's language
    (day,) = figures(list(items.values()), "day")
    assert (day.sessions, day.first_contact, day.tickets) == (6, 2, 1)
    assert outcomes(db, "2999-01-01") == []


def test_prometheus_carries_the_figures(db: AdminDB) -> None:
    text = prometheus(db, up=True)
    assert 'kiosk_first_contact_resolution_ratio{intent="card_lost"} 0.3333' in text
    assert 'kiosk_satisfaction_ratio{lang="zh"} 0.5000' in text
    assert 'kiosk_ticket_conversion_ratio{lang="en"} 1.0000' in text
    assert 'kiosk_ratings_window{rating="skipped"} 1' in text
