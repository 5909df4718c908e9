"""The runtime weighs the offered choices by the recogniser's scores after a question, and a scoring failure loses
nothing: the turn goes on matched by sound / as open text. (A recogniser neighbour stands in for whisper; whisper's
own scores: tests/integration/test_asr_choice_scores.py.)"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import numpy as np

from edge_models.asr import AsrEngine, AsrError, AsrStream
from edge_models.audio import Int16Array, Pcm
from edge_models.speech import Transcript
from kiosk.config import DEFAULT_POLICY_DIR
from kiosk.conversation import Conversations
from kiosk.dialogue.engine import DialogueEngine
from kiosk.dialogue.ports import MemoryTicketDispenser
from kiosk.policy.loader import load_policy
from kiosk.runtime import KioskRuntime, RuntimeConfig
from kiosk.runtime.devices import Devices
from kiosk.runtime.record import TurnRecord
from kiosk.voice.choices import last_sentence
from tests.voice_support import tone


class HearsOnlyIn(AsrEngine):
    """A recogniser (neighbour) that writes 欧元 as "only in in in" and scores texts from a table."""

    engine = "fake"
    model = "fake"
    languages = ("en", "zh")
    supports_scoring = True

    def __init__(self, scores: dict[str, float], *, fail: bool = False, writes: str = "only in in in") -> None:
        super().__init__()
        self.scores = scores
        self.writes = writes
        self.fail = fail
        self.scored: list[list[str]] = []
        self.prompts: list[str] = []

    def stream(
        self, lang: str, grammar: Sequence[str] | None = None, *, max_seconds: float = 60.0, hints: Sequence[str] = ()
    ) -> AsrStream:
        writes = self.writes

        class _Stream(AsrStream):
            def _accept(self, chunk: Int16Array) -> Transcript | None:
                return None

            def _finish(self) -> Transcript:
                return Transcript(text=writes, lang="zh", confidence=0.3, engine="fake", model="fake")

        return _Stream(max_seconds=max_seconds)

    def score_texts(self, samples: Int16Array, lang: str, texts: Sequence[str], *, prompt: str = "") -> list[float]:
        self.scored.append(list(texts))
        self.prompts.append(prompt)
        if self.fail:
            raise AsrError("the decoder failed")
        return [self.scores.get(t, -6.0) for t in texts]


def _asked_then_said(asr: HearsOnlyIn, loudness: float = 1.0) -> tuple[TurnRecord, TurnRecord]:
    engine = DialogueEngine(load_policy(DEFAULT_POLICY_DIR), None, tickets=MemoryTicketDispenser())
    rt = KioskRuntime(Conversations(engine, None), Devices(), RuntimeConfig(speak=False), asr=asr)

    async def scenario() -> tuple[TurnRecord, TurnRecord]:
        await rt.arrive(lang="zh")
        asked = await rt.button("intent:exchange_rate")
        said = await rt.voice(Pcm((np.tile(tone(300, 0.5), 2) * loudness).astype(np.int16), 16_000), "zh")
        return asked, said

    return asyncio.run(asyncio.wait_for(scenario(), 60))


def test_after_a_question_the_recogniser_scores_pick_the_choice_heard_wrong() -> None:
    asr = HearsOnlyIn({"欧元": -1.0, "only in in in": -1.5})
    asked, said = _asked_then_said(asr)
    assert asked.decision.action == "ask"
    assert len(asr.scored) == 1
    assert "欧元" in asr.scored[0]
    assert asr.scored[0][-1] == "only in in in"
    assert said.heard == "only in in in"  # the customer's words, as heard
    assert said.decision.action == "answer"
    assert "欧元" in said.reply


def test_the_question_the_kiosk_asked_is_the_recogniser_context_while_scoring() -> None:
    asr = HearsOnlyIn({"欧元": -1.0, "only in in in": -1.5})
    asked, _said = _asked_then_said(asr)
    assert asr.prompts == [last_sentence(asked.reply)]
    assert asr.prompts[0] in asked.reply
    assert asr.prompts[0].endswith("？")


class CannotScore(HearsOnlyIn):
    supports_scoring = False


def test_a_scoring_failure_leaves_the_turn_as_it_was_without_scores() -> None:
    asr = HearsOnlyIn({"欧元": -1.0}, fail=True)
    _asked, failed = _asked_then_said(asr)
    assert len(asr.scored) == 1
    unscored = CannotScore({"欧元": -1.0})
    _asked, plain = _asked_then_said(unscored)
    assert unscored.scored == []
    assert (failed.source, failed.heard) == ("voice", "only in in in")
    assert (failed.decision.action, failed.reply) == (plain.decision.action, plain.reply)
    assert failed.decision.action == "clarify"


def test_an_empty_decode_after_a_question_is_answered_by_the_recogniser_scores() -> None:
    asr = HearsOnlyIn({"欧元": -1.0, "": -2.5}, writes="")
    asked, said = _asked_then_said(asr)
    assert asked.decision.action == "ask"
    assert len(asr.scored) == 1
    assert asr.scored[0][-1] == ""  # "none of these" is scored as the empty decode
    assert said.decision.action == "answer"
    assert "欧元" in said.reply


def test_an_empty_decode_none_of_the_choices_explains_still_apologises() -> None:
    asr = HearsOnlyIn({"欧元": -4.0, "": 0.0}, writes="")
    _asked, said = _asked_then_said(asr)
    assert len(asr.scored) == 1
    assert said.decision.action == "clarify"
    assert said.heard == ""


def test_silence_the_energy_gate_stops_is_not_scored() -> None:
    asr = HearsOnlyIn({"欧元": -1.0, "": -2.5}, writes="")
    _asked, said = _asked_then_said(asr, loudness=0.0)
    assert asr.scored == []
    assert said.decision.action == "clarify"
