"""Opening hours from the policy, the idle screen and the printer running out, with the clock injected.

The real rules-only engine and the real simulated printer; the screen is a recording fake.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Coroutine
from datetime import datetime
from typing import Any, TypeVar

import pytest

from hardware.printer import SimulatedPrinter
from kiosk.config import DEFAULT_POLICY_DIR
from kiosk.conversation import Conversations
from kiosk.dialogue.engine import DialogueEngine
from kiosk.dialogue.ports import MemoryTicketDispenser
from kiosk.policy.loader import load_policy
from kiosk.runtime import KioskRuntime, RuntimeConfig
from kiosk.runtime.devices import Devices
from kiosk.runtime.timing import hours_summary, next_opening, opening_words

T = TypeVar("T")
HOURS = ("09:00-17:00",) * 5 + ("09:30-16:00", None)  # the demo policy's hours
FRIDAY_MORNING = datetime(2026, 11, 27, 10, 30)
FRIDAY_EVENING = datetime(2026, 11, 27, 18, 5)
SATURDAY_EVENING = datetime(2026, 11, 28, 16, 0)
SUNDAY = datetime(2026, 11, 29, 12, 0)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(coro, timeout=30))


class Clock:
    """Local time and monotonic seconds, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.local = now
        self.seconds = 1000.0

    def now(self) -> datetime:
        return self.local

    def monotonic(self) -> float:
        return self.seconds


class RecordingScreen:
    """Stands in for the LiveScreen: records what the idle logic shows."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str | None]] = []
        self.lang = "zh"

    @property
    def screen(self) -> Any:
        return type("Shown", (), {"lang": self.lang})()

    def reset(self, mode: str = "serving", lang: str = "zh", text: str | None = None) -> None:
        self.lang = lang
        self.calls.append((mode, lang, text))

    def attract_step(self) -> None:
        self.calls.append(("attract", "", None))

    def show(self, **_: Any) -> None:
        return None

    def speak(self, *_: Any) -> float:
        return 0.0

    def stop_speaking(self) -> None:
        return None


def make(
    clock: Clock, printer: SimulatedPrinter | None = None, screen: RecordingScreen | None = None
) -> tuple[KioskRuntime, MemoryTicketDispenser]:
    tickets = MemoryTicketDispenser()
    engine = DialogueEngine(load_policy(DEFAULT_POLICY_DIR), None, tickets=tickets)
    runtime = KioskRuntime(
        Conversations(engine, None),
        Devices(printer=printer),
        RuntimeConfig(attract_after_s=30.0),
        screen=screen,  # type: ignore[arg-type]
        branch_hours=engine.policy.branch.hours.days,
        now=clock.now,
        clock=clock.monotonic,
    )
    return runtime, tickets


@pytest.mark.parametrize(
    ("now", "zh", "en"),
    [
        (datetime(2026, 11, 27, 7, 0), "今天 9:00", "today at 9:00"),
        (FRIDAY_EVENING, "明天（周六）9:30", "tomorrow (Saturday) at 9:30"),
        (SATURDAY_EVENING, "周一 9:00", "on Monday at 9:00"),
        (SUNDAY, "明天（周一）9:00", "tomorrow (Monday) at 9:00"),
    ],
    ids=["early-friday", "friday-evening", "saturday-closing", "sunday"],
)
def test_when_the_branch_opens_next(now: datetime, zh: str, en: str) -> None:
    opens = next_opening(HOURS, now)
    assert (opening_words(opens, now, "zh"), opening_words(opens, now, "en")) == (zh, en)


def test_hours_in_words_and_a_branch_that_never_opens() -> None:
    assert hours_summary(HOURS, "zh") == "周一至周五 9:00–17:00，周六 9:30–16:00，周日休息"
    assert hours_summary(HOURS, "en") == "Monday to Friday 9:00–17:00, Saturday 9:30–16:00, closed Sunday"
    assert next_opening((None,) * 7, SUNDAY) is None
    assert "staff" in opening_words(None, SUNDAY, "en")
    only_friday = (None,) * 4 + ("09:00-17:00", None, None)
    assert opening_words(next_opening(only_friday, FRIDAY_EVENING), FRIDAY_EVENING, "en") == "next Friday at 9:00"


@pytest.mark.parametrize(
    ("inputs", "opens"),
    [
        (("I need a queue ticket",), "tomorrow (Saturday) at 9:30"),
        (("I need a queue ticket for foreign exchange",), "tomorrow (Saturday) at 9:30"),
        (("我要取号",), "明天（周六）9:30"),
        (("button:slot:queue_ticket:forex",), None),
        (("button:intent:queue_ticket",), None),
    ],
    ids=["ask-en", "service-named", "ask-zh", "service-button", "intent-button"],
)
def test_out_of_hours_no_ticket_and_says_when_it_opens(inputs: tuple[str, ...], opens: str | None) -> None:
    clock = Clock(FRIDAY_EVENING)
    runtime, tickets = make(clock, SimulatedPrinter())

    async def scenario() -> Any:
        record = None
        for item in inputs:
            kind, _, value = item.partition(":")
            record = await runtime.button(value) if kind == "button" else await runtime.text(item)
        return record

    record = run(scenario())
    assert tickets.issued == []
    assert record.ticket is None
    assert record.action == "answer"
    assert (record.intent, record.emotion) == ("queue_ticket", "apologetic")
    expected = opens or ("明天（周六）9:30" if record.lang == "zh" else "tomorrow (Saturday) at 9:30")
    assert expected in record.reply
    assert runtime.mode() == "serving"  # a customer is there
    assert runtime.tickets_printed == []


def test_a_ticket_flow_started_before_closing_gets_no_ticket_after() -> None:
    clock = Clock(datetime(2026, 11, 27, 16, 59))
    runtime, tickets = make(clock)

    async def scenario() -> tuple[Any, Any]:
        asked = await runtime.text("I need a queue ticket")
        clock.local = datetime(2026, 11, 27, 17, 0)  # closing time while the customer chooses
        return asked, await runtime.text("foreign exchange")

    asked, late = run(scenario())
    assert asked.action == "ask"
    assert (late.action, late.ticket) == ("answer", None)
    assert tickets.issued == []
    # The same customer may still ask a question; an open branch issues tickets again.
    clock.local = FRIDAY_MORNING
    got = run(runtime.button("slot:queue_ticket:forex"))
    assert (got.action, got.ticket) == ("ticket", "C001")


def test_the_closed_greeting_and_screen_say_when_it_opens() -> None:
    clock = Clock(SUNDAY)
    screen = RecordingScreen()
    runtime, _ = make(clock, screen=screen)
    assert runtime.mode() == "closed"
    shown = runtime.refresh_idle_screen("")
    assert shown == "closed"
    mode, lang, text = screen.calls[-1]
    assert (mode, lang) == ("closed", "zh")
    assert text is not None
    assert "明天（周一）9:00" in text
    assert "周一至周五 9:00–17:00" in text
    runtime.refresh_idle_screen(shown)  # the next step shows it in English
    mode, lang, text = screen.calls[-1]
    assert (mode, lang) == ("closed", "en")
    assert text is not None
    assert "tomorrow (Monday) at 9:00" in text
    run(runtime.arrive(lang="en"))
    said = [e for e in runtime.events if e["event"] == "arrived"]
    assert said
    assert runtime.mode() == "serving"


def test_attract_loop_after_a_while_with_nobody_there() -> None:
    clock = Clock(FRIDAY_MORNING)
    screen = RecordingScreen()
    runtime, _ = make(clock, screen=screen)
    shown = runtime.refresh_idle_screen("")
    assert (shown, screen.calls) == ("serving", [("serving", "zh", None)])
    clock.seconds += 29.0
    shown = runtime.refresh_idle_screen(shown)
    assert shown == "serving"
    assert len(screen.calls) == 1  # nothing new to show
    clock.seconds += 1.0
    shown = runtime.refresh_idle_screen(shown)
    assert shown == "attract"
    shown = runtime.refresh_idle_screen(shown)
    assert [c[0] for c in screen.calls[1:]] == ["attract", "attract"]  # the loop keeps moving
    # A customer arrives: the attract loop stops; after they leave the idle time counts again from zero.
    run(runtime.arrive())
    assert runtime.refresh_idle_screen(shown) == "serving"
    calls = len(screen.calls)
    run(runtime.end_session("left"))
    clock.seconds += 10.0
    assert runtime.refresh_idle_screen("serving") == "serving"
    assert all(c[0] != "attract" for c in screen.calls[calls:])
    clock.seconds += 25.0
    assert runtime.refresh_idle_screen("serving") == "attract"


def test_paper_runs_low_then_out_and_the_customer_keeps_their_number() -> None:
    clock = Clock(FRIDAY_MORNING)
    printer = SimulatedPrinter(None, paper_slips=2, low_paper_slips=1)
    runtime, _ = make(clock, printer)

    def printer_state() -> tuple[str, str]:
        health = next(d for d in runtime.devices.health() if d.kind == "printer")
        return health.state, health.detail

    async def scenario() -> list[Any]:
        taken = []
        for _ in range(3):  # three customers (one session may take only a few tickets: the policy's limit)
            await runtime.end_session("left")
            taken.append(await runtime.button("slot:queue_ticket:forex"))
        return taken

    assert printer_state() == ("ok", "")
    first, second, third = run(scenario())
    assert (first.printed, second.printed, third.printed) == (True, True, False)
    assert printer.printed == 2
    slip = printer.last_bytes  # the ESC/POS bytes of C002: the service, branch and time, in both languages
    for text in ("C002", "外汇业务", "Foreign exchange", "演示银行滨江支行", "Demo Bank Riverside Branch"):
        assert text.encode("gb18030") in slip, text
    assert b"2026-11-27 10:30" in slip
    assert printer_state() == ("degraded", "out of paper")
    assert third.ticket == "C003"
    assert third.skipped == ("print",)
    assert "缺纸" in third.reply  # out of paper, in the customer's language
    assert "C003" in third.reply  # the number is said and shown instead of printed
    assert any("printer degraded: out of paper" in p for p in runtime.problems())
    low = SimulatedPrinter(None, paper_slips=2, low_paper_slips=1)
    runtime.devices.printer = low
    run(runtime.end_session("left"))
    run(runtime.button("slot:queue_ticket:cash"))
    assert printer_state() == ("paper_low", "1 slips left")
    low.refill(300)
    assert printer_state() == ("ok", "")


def test_an_older_policy_without_the_closed_message_still_refuses_politely() -> None:
    policy = load_policy(DEFAULT_POLICY_DIR)
    texts = {k: v for k, v in policy.messages.texts.items() if k != "ticket_closed"}
    older = dataclasses.replace(policy, messages=policy.messages.model_copy(update={"texts": texts}))
    tickets = MemoryTicketDispenser()
    clock = Clock(SUNDAY)
    runtime = KioskRuntime(
        Conversations(DialogueEngine(older, None, tickets=tickets), None),
        Devices(),
        branch_hours=older.branch.hours.days,
        now=clock.now,
        clock=clock.monotonic,
    )
    record = run(runtime.text("I need a queue ticket"))
    assert (record.action, record.ticket, tickets.issued) == ("answer", None, [])
    assert "tomorrow (Monday) at 9:00" in record.reply
