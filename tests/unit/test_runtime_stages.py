"""Each stage of a turn leaves typed started/ended events with its timing: ok, late or failed.
Real rules-only engine; the runtime's clock is injected."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import time
from collections.abc import Coroutine
from datetime import datetime
from typing import Any, TypeVar

import pytest
from pydantic import TypeAdapter

from kiosk.config import DEFAULT_POLICY_DIR
from kiosk.conversation import Conversations
from kiosk.dialogue.engine import DialogueEngine
from kiosk.dialogue.ports import MemoryTicketDispenser
from kiosk.policy.loader import load_policy
from kiosk.runtime import KioskRuntime, RuntimeConfig, StageBudgets, StageEnded, StageEvent, StageStarted
from kiosk.runtime.devices import Devices

T = TypeVar("T")
OPEN = datetime(2026, 11, 27, 10, 30)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(coro, timeout=30))


class SlowEngine(DialogueEngine):
    def handle(self, *args: Any, **kwargs: Any) -> Any:
        time.sleep(0.5)
        return super().handle(*args, **kwargs)


class BrokenEngine(DialogueEngine):
    def handle(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("broken policy")


def make(engine_cls: type[DialogueEngine] = DialogueEngine, **config: Any) -> KioskRuntime:
    engine = engine_cls(load_policy(DEFAULT_POLICY_DIR), None, tickets=MemoryTicketDispenser())
    ticks = itertools.count(100)
    return KioskRuntime(
        Conversations(engine, None), Devices(), RuntimeConfig(**config), now=lambda: OPEN, clock=lambda: next(ticks)
    )


def dialogue_events(rt: KioskRuntime) -> list[StageEvent]:
    return [e for e in rt.stage_events if e.stage == "dialogue"]


def test_a_turn_leaves_a_started_and_an_ended_dialogue_event() -> None:
    rt = make()
    record = run(rt.text("What is the US dollar rate?"))
    started, ended = dialogue_events(rt)
    assert isinstance(started, StageStarted)
    assert isinstance(ended, StageEnded)
    assert started.session == ended.session == record.session != ""
    assert ended.outcome == "ok"
    assert ended.error is None
    assert ended.at > started.at  # the injected clock
    assert ended.ms >= 0.0


@pytest.mark.parametrize(
    ("engine_cls", "outcome", "error"),
    [(SlowEngine, "late", None), (BrokenEngine, "failed", "ValueError")],
    ids=["late", "failed"],
)
def test_a_skipped_stage_says_why(engine_cls: type[DialogueEngine], outcome: str, error: str | None) -> None:
    rt = make(engine_cls, budgets=StageBudgets(dialogue_s=0.05))
    record = run(rt.text("I need a queue ticket"))
    assert record.skipped == ("dialogue",)
    _, ended = dialogue_events(rt)
    assert isinstance(ended, StageEnded)
    assert (ended.outcome, ended.error) == (outcome, error)


def test_stage_events_round_trip_through_pydantic() -> None:
    adapter: TypeAdapter[StageEvent] = TypeAdapter(StageEvent)
    events: list[StageEvent] = [StageStarted("asr", "s1", 1.5), StageEnded("asr", None, 2.0, 500.0, "late")]
    for event in events:
        assert adapter.validate_python(dataclasses.asdict(event)) == event
        assert adapter.validate_json(adapter.dump_json(event)) == event
