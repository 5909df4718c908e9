"""What the agent reads from kiosk.db for HQ: new labels once, finished days' counts by outcome."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from pydantic import ValidationError

from kiosk.admin.accounts import AdminDB
from kiosk.dialogue.decision import Decision
from kiosk.storage import Store
from sync.agent.identity import DeviceSigner
from sync.agent.uplink import Uplink
from sync.messages import CountsItem, DailyCount, LabelItem, OutcomeCounts

CARD = "6222020200112233445"


def turn(store: Store, session: str, action: str, intent: str = "card_lost", stage: str = "model") -> int:
    decision = Decision(reply="ok", lang="zh", intent=intent, stage=stage, confidence=0.5, action=action)  # type: ignore[arg-type]
    return store.record_turn(session, "typed", f"卡号{CARD}", decision, 3.0)


def set_day(state: Path, turn_ids: list[int], day: str) -> None:
    with closing(sqlite3.connect(state / "kiosk.db")) as db, db:
        for turn_id in turn_ids:
            db.execute("UPDATE turns SET at = ? WHERE id = ?", (f"{day}T09:00:00.000+00:00", turn_id))


def uplink(state: Path) -> Uplink:
    return Uplink(state, DeviceSigner(state, "k1"))


def test_counts_of_finished_days_by_outcome(tmp_path: Path) -> None:
    store = Store(tmp_path / "kiosk.db")
    old = [
        turn(store, "a", "answer"),
        turn(store, "a", "clarify"),
        turn(store, "b", "handoff"),
        turn(store, "b", "risk_alert"),
        turn(store, "c", "answer", stage="fallback"),
        turn(store, "c", "ticket", intent="queue_ticket"),
    ]
    today = turn(store, "d", "answer")
    store.close()
    set_day(tmp_path, old, "2026-12-03")
    set_day(tmp_path, [today], "2026-12-05")

    up = uplink(tmp_path)
    assert up.collect("2026-12-05") == 1
    (item,) = up.outbox.pending()
    assert isinstance(item, CountsItem)
    assert (item.item_id, item.day) == ("counts:2026-12-03", "2026-12-03")
    rows = {(r.lang, r.intent): (r.turns, r.decided, r.clarified, r.handed_off) for r in item.rows}
    assert rows == {("zh", "card_lost"): (5, 1, 1, 2), ("zh", "queue_ticket"): (1, 1, 0, 0)}
    extra = {(r.lang, r.intent): (r.risk_alerts, r.elderly) for r in item.rows}
    assert extra[("zh", "card_lost")] == (1, OutcomeCounts(turns=0, decided=0, clarified=0, handed_off=0))
    assert up.collect("2026-12-05") == 0  # the cursor moved
    up.outbox.done([item.item_id])
    assert up.collect("2026-12-06") == 1  # the next day, once it is over
    assert up.outbox.pending()[0].item_id == "counts:2026-12-05"


def test_labels_are_read_once_masked_and_a_relabel_is_new(tmp_path: Path) -> None:
    store = Store(tmp_path / "kiosk.db")
    first, second = turn(store, "a", "clarify", stage="fallback"), turn(store, "b", "clarify", stage="fallback")
    store.close()
    admin = AdminDB(tmp_path / "kiosk.db")
    admin.label(first, "card_lost", "clerk")
    admin.label(second, "card_lost", "clerk")

    up = uplink(tmp_path)
    today = "2000-01-01"  # no finished days: labels only
    assert up.collect(today) == 2
    labels = [i for i in up.outbox.pending() if isinstance(i, LabelItem)]
    assert [i.text for i in labels] == ["卡号[card ****3445]"] * 2
    assert all(CARD not in i.model_dump_json() for i in labels)
    assert uplink(tmp_path).collect(today) == 0  # a restarted agent reads nothing twice

    with closing(sqlite3.connect(tmp_path / "kiosk.db")) as db, db:  # staff change their mind later
        db.execute("UPDATE review_labels SET intent = 'card_activate', at = '2099-01-01T00:00:00+00:00'")
    admin.close()
    assert uplink(tmp_path).collect(today) == 2
    newest = [i for i in uplink(tmp_path).outbox.pending() if isinstance(i, LabelItem) and i.intent == "card_activate"]
    assert len(newest) == 2


def test_a_crash_before_the_cursor_moves_queues_nothing_twice(tmp_path: Path) -> None:
    store = Store(tmp_path / "kiosk.db")
    turn_id = turn(store, "a", "clarify", stage="fallback")
    store.close()
    admin = AdminDB(tmp_path / "kiosk.db")
    admin.label(turn_id, "card_lost", "clerk")
    admin.close()
    up = uplink(tmp_path)
    assert up.collect("2000-01-01") == 1
    (tmp_path / "sync" / "uplink.json").unlink()  # killed after the item was written, before the cursor
    assert uplink(tmp_path).collect("2000-01-01") == 0
    assert len(up.outbox) == 1


def test_counts_split_elderly_mode_sessions(tmp_path: Path) -> None:
    store = Store(tmp_path / "kiosk.db")
    ids = [
        turn(store, "young", "answer"),
        turn(store, "old", "answer"),
        turn(store, "old", "clarify"),
        turn(store, "old", "risk_alert"),
    ]
    store.set_session_elderly("old", True)
    store.close()
    set_day(tmp_path, ids, "2026-12-03")

    up = uplink(tmp_path)
    assert up.collect("2026-12-04") == 1
    (item,) = up.outbox.pending()
    assert isinstance(item, CountsItem)
    (row,) = item.rows
    assert (row.turns, row.decided, row.clarified, row.handed_off, row.risk_alerts) == (4, 2, 1, 1, 1)
    assert row.elderly == OutcomeCounts(turns=3, decided=1, clarified=1, handed_off=1, risk_alerts=1)


def test_an_old_kiosks_counts_still_parse_and_bad_parts_are_refused() -> None:
    before = {"lang": "zh", "intent": "x", "turns": 3, "decided": 2, "clarified": 1, "handed_off": 0}
    old = DailyCount.model_validate(before)
    assert (old.risk_alerts, old.elderly) == (None, None)
    base = {"lang": "en", "intent": "x", "turns": 2, "decided": 1, "clarified": 0, "handed_off": 1}
    with pytest.raises(ValidationError, match="risk_alerts cannot exceed"):
        DailyCount.model_validate(base | {"risk_alerts": 2})
    with pytest.raises(ValidationError, match="elderly-mode counts exceed"):
        DailyCount.model_validate(base | {"elderly": {"turns": 3, "decided": 0, "clarified": 0, "handed_off": 0}})
    with pytest.raises(ValidationError, match="elderly-mode counts exceed"):
        DailyCount.model_validate(base | {"elderly": {"turns": 1, "decided": 0, "clarified": 1, "handed_off": 0}})
