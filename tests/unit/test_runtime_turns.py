"""The runtime's turn logic with the real rules-only engine and in-memory neighbours (no screen, no models):
stage budgets, polite skips, printing side effects, out-of-hours, session end, supervised restarts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from datetime import datetime
from typing import Any, TypeVar

import pytest

from hardware.camera import Camera, Frame, FrameError
from hardware.printer import PrintedTicket, PrinterError, TicketPrinter, TicketSlip
from kiosk.config import DEFAULT_POLICY_DIR
from kiosk.conversation import Conversations
from kiosk.dialogue.engine import DialogueEngine
from kiosk.dialogue.ports import MemoryTicketDispenser
from kiosk.policy.loader import load_policy
from kiosk.runtime import KioskRuntime, RuntimeConfig, StageBudgets
from kiosk.runtime.devices import Devices

T = TypeVar("T")
OPEN = datetime(2026, 11, 27, 10, 30)  # Friday morning
SUNDAY = datetime(2026, 11, 29, 12, 0)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(coro, timeout=30))


class RecordingPrinter(TicketPrinter):
    """An in-memory printer that records slips, or fails like a jammed one."""

    def __init__(self, fail: bool = False) -> None:
        super().__init__("fake")
        self.fail = fail
        self.slips: list[TicketSlip] = []

    def _open(self) -> Any:
        if self.fail:
            raise OSError("paper jam")
        return _NullEscpos()

    def _sent(self, printer: Any, slip: TicketSlip) -> PrintedTicket:
        self.slips.append(slip)
        return PrintedTicket(slip.number, 0)


class _NullEscpos:
    def __getattr__(self, name: str) -> Any:
        return lambda *a, **k: None


class SlowEngine(DialogueEngine):
    def handle(self, *args: Any, **kwargs: Any) -> Any:
        time.sleep(0.5)
        return super().handle(*args, **kwargs)


def make(
    printer: TicketPrinter | None = None,
    now: datetime = OPEN,
    engine_cls: type[DialogueEngine] = DialogueEngine,
    **config: Any,
) -> KioskRuntime:
    engine = engine_cls(load_policy(DEFAULT_POLICY_DIR), None, tickets=MemoryTicketDispenser())
    conversations = Conversations(engine, None)
    policy_hours = engine.policy.branch.hours.days
    return KioskRuntime(
        conversations, Devices(printer=printer), RuntimeConfig(**config), branch_hours=policy_hours, now=lambda: now
    )


def test_a_ticket_is_printed_and_the_session_ends() -> None:
    printer = RecordingPrinter()

    async def scenario() -> KioskRuntime:
        rt = make(printer)
        await rt.start()
        asked = await rt.text("I need a queue ticket")
        got = await rt.button(asked.buttons[0][0])
        assert got.action == "ticket"
        assert got.printed
        await rt.end_session("left")
        await rt.stop()
        return rt

    rt = run(scenario())
    assert [s.number for s in printer.slips] == rt.tickets_printed
    assert printer.slips[0].branch
    assert rt.session_id is None
    assert rt.sessions_closed == 1


def test_a_failing_printer_is_skipped_politely() -> None:
    async def scenario() -> Any:
        rt = make(RecordingPrinter(fail=True))
        asked = await rt.text("I need a queue ticket")
        return await rt.button(asked.buttons[0][0]), rt

    got, rt = run(scenario())
    assert got.ticket
    assert not got.printed
    assert got.skipped == ("print",)
    assert "printer" in got.reply
    assert rt.devices.printer is not None
    assert rt.devices.printer.health().state == "degraded"
    with pytest.raises(PrinterError):
        RecordingPrinter(fail=True).print_ticket(TicketSlip("A001", "x"))


def test_a_late_dialogue_stage_gets_a_polite_reply() -> None:
    async def scenario() -> Any:
        rt = make(engine_cls=SlowEngine, budgets=StageBudgets(dialogue_s=0.05))
        return await rt.text("I need a queue ticket"), rt

    record, rt = run(scenario())
    assert record.skipped == ("dialogue",)
    assert record.emotion == "apologetic"
    assert "Sorry" in record.reply or "抱歉" in record.reply
    assert any(e["event"] == "stage_late" for e in rt.events)


def test_voice_without_asr_asks_to_tap() -> None:
    import numpy as np

    from edge_models.audio import Pcm

    async def scenario() -> Any:
        rt = make()
        return await rt.voice(Pcm(np.zeros(16000, dtype=np.int16)), "en")

    record = run(scenario())
    assert record.action == "clarify"
    assert record.skipped == ("asr",)


def test_out_of_hours_and_serving_modes() -> None:
    # The attract loop is tested with an injected clock in test_runtime_hours.py.
    async def scenario() -> tuple[str, str]:
        closed = make(now=SUNDAY)
        serving = make()
        await serving.arrive()
        return closed.mode(), serving.mode()

    assert run(scenario()) == ("closed", "serving")


class CrashingCamera(Camera):
    def __init__(self) -> None:
        self.reads = 0

    def _read(self) -> Frame | None:
        self.reads += 1
        raise FrameError("USB camera unplugged")


class NoFaces:
    def detect(self, rgb: Any) -> tuple[()]:
        return ()


def test_a_crashing_camera_loop_is_restarted_and_reported() -> None:
    camera = CrashingCamera()

    async def scenario() -> KioskRuntime:
        engine = DialogueEngine(load_policy(DEFAULT_POLICY_DIR), None)
        rt = KioskRuntime(
            Conversations(engine, None),
            Devices(camera=camera),
            RuntimeConfig(max_restarts=2),
            detector=NoFaces(),  # type: ignore[arg-type]
        )
        rt.supervisor.backoff = type(rt.supervisor.backoff)(base_s=0.01)
        await rt.start()
        for _ in range(200):
            if rt.supervisor.status["presence"].state == "failed":
                break
            await asyncio.sleep(0.01)
        await rt.stop()
        return rt

    rt = run(scenario())
    status = rt.supervisor.status["presence"]
    assert status.state == "failed"
    assert status.restarts == 2
    assert camera.reads == 3
    assert any("presence: failed" in p for p in rt.problems())


def test_out_of_hours_greeting() -> None:
    async def scenario() -> list[str]:
        rt = make(now=SUNDAY)
        await rt.arrive()
        return [e["event"] for e in rt.events]

    events = run(scenario())
    assert "arrived" in events
    rt = make(now=SUNDAY)
    assert rt.mode() == "closed"
