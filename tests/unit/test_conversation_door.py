"""One door into the engine (issue 17): every turn goes through ``Conversations.turn``, is cut to length
once, runs on the caller's clock, and its record carries the decision. Real rules-only engine, real SQLite."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

from kiosk.config import DEFAULT_POLICY_DIR
from kiosk.conversation import MAX_BUTTON_CHARS, MAX_INPUT_CHARS, Conversations, at_the_door
from kiosk.dialogue.decision import Decision
from kiosk.dialogue.engine import DialogueEngine
from kiosk.dialogue.ports import MemoryTicketDispenser
from kiosk.dialogue.session import DialogueSession
from kiosk.dialogue.utterance import Utterance
from kiosk.policy.loader import load_policy
from kiosk.runtime import KioskRuntime, RuntimeConfig
from kiosk.runtime.devices import Devices
from kiosk.storage import Store

T = TypeVar("T")
FRESH = datetime(2026, 11, 27, 10, 30)  # an hour after the demo rate table was published
LATE = datetime(2027, 6, 1, 10, 30)  # months after: the table is out of date


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(coro, timeout=30))


class HeardEngine(DialogueEngine):
    """The real engine, remembering what it was given."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.heard: list[tuple[Utterance, datetime]] = []

    def handle(self, session: DialogueSession, utterance: Utterance, now: datetime) -> Decision:
        self.heard.append((utterance, now))
        return super().handle(session, utterance, now)


def engine() -> HeardEngine:
    return HeardEngine(load_policy(DEFAULT_POLICY_DIR), None, tickets=MemoryTicketDispenser())


@pytest.fixture
def store(tmp_path: Path) -> Any:
    store = Store(tmp_path / "kiosk.db")
    yield store
    store.close()


def conversations(store: Store | None) -> Conversations:
    convs = Conversations(engine(), store, resume_summaries=False)
    return convs


def close(convs: Conversations) -> None:
    if convs.summaries is not None:
        convs.summaries.close(timeout=5.0, cut=True)


def runtime(convs: Conversations, now: datetime) -> KioskRuntime:
    return KioskRuntime(convs, Devices(), RuntimeConfig(), now=lambda: now)


def sessions(store: Store) -> list[dict[str, Any]]:
    return [dict(r) for r in store._query("SELECT * FROM sessions")]


def test_text_and_voice_are_cut_once_at_the_door() -> None:
    long = "我的卡丢了" + "啊" * (3 * MAX_INPUT_CHARS)
    convs = conversations(None)
    convs.turn("typed", text=long)
    convs.turn("spoken", utterance=Utterance(text=long, source="voice", asr_confidence=0.9))
    convs.turn("tapped", button="x" * 1000)
    heard = [u for u, _ in convs.engine.heard]  # type: ignore[attr-defined]
    assert [len(u.text) for u in heard[:2]] == [MAX_INPUT_CHARS, MAX_INPUT_CHARS]
    assert heard[1].source == "voice"
    assert heard[1].asr_confidence == 0.9
    assert len(heard[2].button or "") == MAX_BUTTON_CHARS
    assert at_the_door(None, text="short") == Utterance(text="short")


def test_the_runtime_cuts_typed_text_through_the_same_door() -> None:
    convs = conversations(None)
    rt = runtime(convs, FRESH)
    record = run(rt.text("hello " * 1000))
    (utterance, _), *_ = convs.engine.heard  # type: ignore[attr-defined]
    assert len(utterance.text) == MAX_INPUT_CHARS
    assert len(record.heard) <= MAX_INPUT_CHARS


@pytest.mark.parametrize(
    ("now", "quoted"), [(FRESH, True), (LATE, False)], ids=["fresh-table-quoted", "stale-table-refused"]
)
def test_the_runtime_clock_reaches_the_engine(now: datetime, quoted: bool) -> None:
    convs = conversations(None)
    record = run(runtime(convs, now).text("What is the US dollar rate?"))
    assert record.intent == "exchange_rate"
    assert ("709.52" in record.reply) is quoted
    (_, engine_now), *_ = convs.engine.heard  # type: ignore[attr-defined]
    assert engine_now == now.astimezone(UTC)


def test_the_stored_turn_and_the_session_end_use_the_runtime_clock(store: Store) -> None:
    convs = conversations(store)
    rt = runtime(convs, LATE)

    async def scenario() -> str:
        await rt.text("What is the US dollar rate?")
        session = rt.session_id or ""
        await rt.end_session("left")
        return session

    session = run(scenario())
    close(convs)
    stamp = LATE.astimezone(UTC).isoformat(timespec="milliseconds")
    assert [t["at"] for t in store.turns(session)] == [stamp]
    (row,) = sessions(store)
    assert (row["started_at"], row["ended_at"], row["outcome"]) == (stamp, stamp, "left")


def test_a_hand_off_ends_the_session_at_the_callers_time(store: Store) -> None:
    convs = conversations(store)
    decision, _ = convs.turn("s1", text="I want to talk to a staff member", now=LATE)
    close(convs)
    assert decision.action == "handoff"
    (row,) = sessions(store)
    assert row["outcome"] == "handoff"
    assert row["ended_at"] == LATE.astimezone(UTC).isoformat(timespec="milliseconds")
    assert [h["kind"] for h in store._query("SELECT kind FROM handoffs")] == ["handoff"]


def test_a_turn_record_carries_the_decision_with_its_confidence() -> None:
    convs = conversations(None)
    record = run(runtime(convs, FRESH).text("What is the US dollar rate?"))
    assert isinstance(record.decision, Decision)
    assert record.decision.intent == record.intent == "exchange_rate"
    view = record.view()
    assert view["confidence"] == pytest.approx(record.decision.confidence)
    assert 0.0 < view["confidence"] <= 1.0
    assert view["stage"] == record.decision.stage
    assert view["buttons"] == [[b.id, b.label] for b in record.decision.buttons]


def test_the_kiosks_own_steps_say_who_decided() -> None:
    convs = conversations(None)
    rt = runtime(convs, FRESH)

    async def scenario() -> Any:
        await rt.arrive(lang="en")
        return await rt.button("ui:lang"), await rt.voice(_silence(), "en")

    lang, voice = run(scenario())
    assert (lang.stage, lang.action, lang.confidence) == ("ui", "language", 1.0)
    assert (voice.stage, voice.action, voice.confidence) == ("asr", "clarify", 0.0)
    assert voice.view()["skipped"] == ["asr"]
    assert convs.engine.heard == []  # type: ignore[attr-defined]


def _silence() -> Any:
    import numpy as np

    from edge_models.audio import Pcm

    return Pcm(np.zeros(16000, dtype=np.int16))
