"""The runtime's continuous microphone loop with in-memory neighbours: supervised restart after a microphone
crash, turns only while a customer is there, the end of the stream. (Real audio and models:
tests/integration/test_voice_runtime.py.)"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from edge_models.asr import AsrEngine, AsrStream
from edge_models.audio import Int16Array
from edge_models.speech import Transcript
from hardware.audio import Microphone
from kiosk.config import DEFAULT_POLICY_DIR
from kiosk.conversation import Conversations
from kiosk.dialogue.engine import DialogueEngine
from kiosk.dialogue.ports import MemoryTicketDispenser
from kiosk.policy.loader import load_policy
from kiosk.runtime import KioskRuntime, RuntimeConfig
from kiosk.runtime.devices import Devices
from tests.voice_support import tone

SILENCE = np.zeros(480, np.int16)
VOICE = tone(300, 0.03, level=0.3)


def utterance() -> list[npt.NDArray[np.int16]]:
    return [SILENCE] * 10 + [VOICE] * 30 + [SILENCE] * 30


class ScriptedMic(Microphone):
    """Frames from a list, as fast as read; fails on the reads numbered in ``fail_at``; None at the end."""

    def __init__(
        self, frames: list[npt.NDArray[np.int16]], fail_at: Sequence[int] = (), pause_at: int | None = None
    ) -> None:
        super().__init__()
        self.frames = list(frames)
        self.fail_at = set(fail_at)
        self.pause_at = pause_at
        self.paused = threading.Event()
        self.resume = threading.Event()
        self.reads = 0

    def _read(self, frames: int) -> Int16Array | None:
        self.reads += 1
        if self.reads in self.fail_at:
            raise OSError("microphone unplugged")
        if self.reads == self.pause_at:
            self.paused.set()
            self.resume.wait(10)
        return self.frames.pop(0) if self.frames else None


class SaysPerson(AsrEngine):
    """A recogniser (neighbour) that hears the same sentence in every utterance and counts them."""

    engine = "fake"
    model = "fake"
    languages = ("en", "zh")

    def __init__(self) -> None:
        super().__init__()
        self.heard = 0

    def stream(
        self, lang: str, grammar: Sequence[str] | None = None, *, max_seconds: float = 60.0, hints: Sequence[str] = ()
    ) -> AsrStream:
        owner = self

        class _Stream(AsrStream):
            def _accept(self, chunk: Int16Array) -> Transcript | None:
                return None

            def _finish(self) -> Transcript:
                owner.heard += 1
                text = "I want to talk to a real person"
                return Transcript(text=text, lang="en", confidence=0.95, engine="fake", model="fake")

        return _Stream(max_seconds=max_seconds)


def runtime(mic: Microphone, asr: AsrEngine) -> KioskRuntime:
    engine = DialogueEngine(load_policy(DEFAULT_POLICY_DIR), None, tickets=MemoryTicketDispenser())
    devices = Devices(microphone="simulated", mic=mic)
    return KioskRuntime(Conversations(engine, None), devices, RuntimeConfig(speak=False), asr=asr)


async def until(check: Any, timeout_s: float = 20.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not check():
            await asyncio.sleep(0.01)


def test_a_crashed_microphone_loop_is_restarted_and_the_customer_is_heard() -> None:
    mic = ScriptedMic(utterance(), fail_at=(1,))
    asr = SaysPerson()

    async def scenario() -> KioskRuntime:
        rt = runtime(mic, asr)
        await rt.arrive(lang="en")
        await rt.start()
        await until(lambda: rt.turn_count >= 1 and rt.supervisor.status["microphone"].state == "stopped")
        await rt.stop()
        return rt

    rt = asyncio.run(asyncio.wait_for(scenario(), 30))
    status = rt.supervisor.status["microphone"]
    assert status.restarts == 1
    assert "microphone unplugged" in status.last_error
    (turn,) = rt.turns
    assert (turn.source, turn.intent, turn.handoff) == ("voice", "human_agent", "handoff")


def test_nothing_is_heard_while_nobody_is_there_and_the_end_of_stream_flushes() -> None:
    first = utterance()  # nobody there yet
    frames = first + utterance() + [SILENCE] * 5 + [VOICE] * 20  # the last one is cut by the end of the stream
    mic = ScriptedMic(frames, pause_at=len(first) + 1)
    asr = SaysPerson()

    async def scenario() -> KioskRuntime:
        rt = runtime(mic, asr)
        await rt.start()
        await until(mic.paused.is_set)  # the empty lobby's utterance has been read
        await rt.arrive(lang="en")
        mic.resume.set()
        await until(lambda: rt.supervisor.status["microphone"].state == "stopped")
        await until(lambda: rt.turn_count >= 2)
        await rt.stop()
        return rt

    rt = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert asr.heard == 2
    assert [e["end"] for e in rt.events if e["event"] == "heard"] == ["speech_end", "end_of_stream"]
