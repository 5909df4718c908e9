"""Hand-off summaries: off the customer's path, masked, with an extractive fallback (a fake LLM port)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from edge_models.errors import ModelError
from edge_models.llm import Generation, LlmTimeoutError
from kiosk.conversation import Conversations
from kiosk.dialogue import DialogueEngine
from kiosk.dialogue.breaker import CircuitBreaker
from kiosk.dialogue.compose import Draft
from kiosk.dialogue.decision import Decision
from kiosk.llm import HandoffSummarizer, LlmStage, SummaryWorker, extractive_summary, transcript
from kiosk.policy import Policy
from kiosk.storage import Store
from tests.fakes import NOW, FakeClassifier

PHONE = "13812345678"
CARD = "6222021234567890123"
LOST = "我的卡丢了"
WAIT_S = 30.0  # generous: only a deadlock would reach it
ZH_SUMMARY = "顾客的银行卡丢了，要求找工作人员。自助机已转人工。"
BOTH = ("zh", "en")


@dataclass
class FakeSummarizer:
    """An LLM port for summaries: writes ``text`` (after ``gate`` opens) and records the lines it saw."""

    text: str | None = "The customer lost a card and asked for staff; the kiosk handed them over."
    gate: threading.Event | None = None
    seen: list[list[str]] = field(default_factory=list)
    languages: tuple[str, ...] = ("en",)
    stopped: bool = False
    zh_text: str = ZH_SUMMARY
    asked: list[str] = field(default_factory=list)  # the language of each summary asked for

    def written(self, lang: str) -> str | None:
        """What it writes when asked for ``lang``."""
        return self.zh_text if lang == "zh" else self.text

    def summarize(
        self, lines: Sequence[str], *, lang: str, budget_s: float, max_tokens: int, wait_s: float
    ) -> Draft | None:
        self.seen.append(list(lines))
        self.asked.append(lang)
        if self.gate is not None and not self.gate.wait(WAIT_S):
            return None
        if self.stopped:  # cut at shutdown, as the real model does between two tokens
            return None
        text = self.written(lang)
        return None if text is None else Draft(text, 0.8)

    def stop_background(self) -> None:
        self.stopped = True
        if self.gate is not None:
            self.gate.set()

    def classify(self, text: str, labels: Sequence[str]) -> tuple[str, float] | None:
        return None


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    db = Store(tmp_path / "kiosk.db")
    yield db
    db.close()


def engine(policy: Policy, llm: FakeSummarizer | None = None) -> DialogueEngine:
    return DialogueEngine(policy, FakeClassifier({LOST: [("card_lost", 0.99)]}), llm=llm)


def talk(conversations: Conversations, session: str = "s1") -> None:
    conversations.turn(session, text=f"{LOST}，卡号{CARD}，电话{PHONE}", now=NOW)
    decision, _ = conversations.turn(session, text="转人工", now=NOW)
    assert decision.action == "handoff"


def rows(policy: Policy) -> list[dict[str, object]]:
    """Two turns as the store keeps them (masked)."""
    said = f"my card is gone, call me on [phone ****{PHONE[-4:]}]"
    return [
        {"source": "text", "text": said, "intent": "card_lost", "stage": "model", "reply": "Please block it."},
        {"source": "button", "text": "[button staff]", "intent": "human_agent", "stage": "button",
         "reply": "A colleague is coming."},
    ]  # fmt: skip


def test_the_extractive_summary_says_what_happened(policy: Policy) -> None:
    turns = rows(policy)
    text = extractive_summary(turns, "requested", "en")
    assert "card_lost (model) → human_agent (button)" in text
    assert "my card is gone" in text
    assert "[button staff]" not in text
    assert "requested" in text
    assert transcript(turns) == [
        f"Customer: my card is gone, call me on [phone ****{PHONE[-4:]}]",
        "Kiosk: Please block it.",
        "Customer tapped: human_agent",
        "Kiosk: A colleague is coming.",
    ]


@pytest.mark.parametrize(
    ("llm_text", "source"),
    [
        ("The customer lost a card and wants staff.", "llm"),
        (None, "extractive"),
        ("", "extractive"),
        ("The customer wants 5000 yuan moved to account 8812.", "extractive"),  # numbers not in the conversation
        ("word " * 400, "extractive"),
    ],
    ids=["llm", "no-draft", "empty", "made-up-numbers", "too-long"],
)
def test_the_llm_paragraph_is_used_only_when_it_checks_out(policy: Policy, llm_text: str | None, source: str) -> None:
    summarizer = HandoffSummarizer(FakeSummarizer(llm_text), policy.thresholds, staff_lang="en")
    summary = summarizer.summarize(rows(policy), "requested", "en")
    assert summary.source == source
    if source == "llm":
        assert summary.text == llm_text
    else:
        assert summary.text == extractive_summary(rows(policy), "requested", "en", "en")


@pytest.mark.parametrize(
    ("written", "kept"),
    [
        (
            "Summary: The customer lost a card. The customer lost a card. They want staff.",
            "The customer lost a card. They want staff.",
        ),
        (
            "The customer lost a card. They want staff. The customer lost a",
            "The customer lost a card. They want staff.",
        ),
        ("The customer lost a card. They asked about a", "The customer lost a card."),
        ("One. Two. Three. Four. Five.", "One. Two. Three. Four."),
    ],
    ids=["repeated", "repeat-cut-off", "cut-off", "too-many"],
)
def test_the_paragraph_is_tidied(policy: Policy, written: str, kept: str) -> None:
    summarizer = HandoffSummarizer(FakeSummarizer(written), policy.thresholds, staff_lang="en")
    summary = summarizer.summarize(rows(policy), "requested", "en")
    assert summary.text == kept


def test_without_an_llm_the_summary_is_extractive(policy: Policy) -> None:
    summary = HandoffSummarizer(None, policy.thresholds).summarize(rows(policy), "requested", "en")
    assert summary.source == "extractive"


def test_the_llm_output_is_masked_too(policy: Policy) -> None:
    leaky = FakeSummarizer("The customer, wang.fang@example.com, my name is Fang, lost a card.")
    summary = HandoffSummarizer(leaky, policy.thresholds, staff_lang="en").summarize(rows(policy), "requested", "en")
    assert summary.source == "llm"
    assert "wang.fang@example.com" not in summary.text
    assert "Fang" not in summary.text
    assert "[email]" in summary.text


class FailingModel:
    """Stands in for LlamaModel behind the real LlmStage."""

    languages = ("en",)

    def __init__(self, error: Exception | None) -> None:
        self.error = error
        self.calls = 0

    def summarize(
        self, lines: Sequence[str], *, lang: str, budget_s: float, max_tokens: int, wait_s: float
    ) -> Generation:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return Generation("The customer lost a card.", 0.7, 6, 0.1)


def test_late_llm_opens_the_breaker_and_staff_get_the_extract(policy: Policy) -> None:
    model = FailingModel(LlmTimeoutError("late"))
    stage = LlmStage(model, {}, CircuitBreaker(failures=2, cooldown_s=60), clock=lambda: 0.0)  # type: ignore[arg-type]
    summarizer = HandoffSummarizer(stage, policy.thresholds, staff_lang="en")
    for error in (LlmTimeoutError("late"), ModelError("crashed")):
        model.error = error
        assert summarizer.summarize(rows(policy), "requested", "en").source == "extractive"
    assert stage.state == "open"
    model.error = None
    assert summarizer.summarize(rows(policy), "requested", "en").source == "extractive"
    assert model.calls == 2  # open: not asked


def test_the_customer_never_waits_for_the_summary(policy: Policy, store: Store) -> None:
    gate = threading.Event()
    llm = FakeSummarizer(gate=gate, languages=BOTH)
    worker = SummaryWorker(store, HandoffSummarizer(llm, policy.thresholds))
    conversations = Conversations(engine(policy), store, summaries=worker)
    try:
        talk(conversations)  # returns although the LLM is held at the gate
        (queued,) = store.handoffs("waiting")
        assert queued.summary_source == "pending"
        assert "human_agent (safety)" in queued.summary  # the extract is there at once
        assert queued.summary.startswith("转人工")  # in the staff's language
        assert PHONE not in queued.summary
        assert CARD not in queued.summary
        gate.set()
        assert worker.wait_idle(WAIT_S)
        row = store.handoff(queued.id)
        assert row is not None
        assert (row.summary_source, row.summary) == ("llm", ZH_SUMMARY)
        (lines,) = llm.seen
        assert all(PHONE not in line and CARD not in line for line in lines)  # the LLM saw masked turns only
        assert any(f"****{PHONE[-4:]}" in line for line in lines)
    finally:
        gate.set()
        worker.close()


def test_closing_with_a_cut_settles_every_summary_at_once(policy: Policy, store: Store) -> None:
    gate = threading.Event()  # the LLM holds the first summary until it is cut
    llm = FakeSummarizer(gate=gate, languages=BOTH)
    worker = SummaryWorker(store, HandoffSummarizer(llm, policy.thresholds))
    conversations = Conversations(engine(policy), store, summaries=worker)
    talk(conversations)
    talk(conversations, session="s2")
    assert [row.summary_source for row in store.handoffs("waiting")] == ["pending", "pending"]
    worker.close(timeout=WAIT_S, cut=True)
    assert llm.stopped
    # Staff keep the extract; nothing is left pending for the next start to redo.
    assert [row.summary_source for row in store.handoffs("waiting")] == ["extractive", "extractive"]


def test_conversations_wire_the_engines_llm_by_default(policy: Policy, store: Store) -> None:
    llm = FakeSummarizer(languages=BOTH)
    conversations = Conversations(engine(policy, llm), store)
    assert conversations.summaries is not None
    talk(conversations)
    assert conversations.summaries.wait_idle(WAIT_S)
    (row,) = store.handoffs("waiting")
    assert (row.summary_source, row.summary) == ("llm", ZH_SUMMARY)  # the branch's staff read Chinese
    assert llm.asked == ["zh"]
    conversations.summaries.close()


def test_the_branch_policy_sets_the_staff_language(policy: Policy, store: Store) -> None:
    english_staff = replace(policy, branch=policy.branch.model_copy(update={"staff_lang": "en"}))
    llm = FakeSummarizer(languages=BOTH, gate=threading.Event())  # held until the fallback is read
    conversations = Conversations(engine(english_staff, llm), store)
    assert conversations.summaries is not None
    talk(conversations)  # a Chinese-speaking customer
    (queued,) = store.handoffs("waiting")
    assert queued.summary.startswith("Hand-off (")
    assert queued.lang == "zh"
    assert llm.gate is not None
    llm.gate.set()
    assert conversations.summaries.wait_idle(WAIT_S)
    (row,) = store.handoffs("waiting")
    assert (row.summary_source, row.summary) == ("llm", llm.text)
    assert llm.asked == ["en"]
    conversations.summaries.close()


def test_a_switched_llm_writes_the_next_summary(policy: Policy, store: Store) -> None:
    old, new = FakeSummarizer(languages=BOTH), FakeSummarizer(languages=BOTH, zh_text="客户挂失银行卡，已转人工。")
    engines = [engine(policy, old)]
    conversations = Conversations(engines[0], store, reloader=lambda: engines[-1])
    assert conversations.summaries is not None
    talk(conversations, "s1")
    assert conversations.summaries.wait_idle(WAIT_S)
    engines.append(engine(policy, new))  # the reloader saw a new LLM bundle activated
    talk(conversations, "s2")
    assert conversations.summaries.wait_idle(WAIT_S)
    assert (len(old.asked), len(new.asked)) == (1, 1)
    summaries = {row.session_id: row.summary for row in store.handoffs("waiting")}
    assert summaries == {"s1": ZH_SUMMARY, "s2": "客户挂失银行卡，已转人工。"}
    conversations.summaries.close()


def test_an_llm_that_does_not_write_the_staff_language_is_not_asked(policy: Policy, store: Store) -> None:
    llm = FakeSummarizer(languages=("en",))
    worker = SummaryWorker(store, HandoffSummarizer(llm, policy.thresholds))  # Chinese staff by default
    conversations = Conversations(engine(policy), store, summaries=worker)
    talk(conversations)
    assert worker.wait_idle(WAIT_S)
    (row,) = store.handoffs("waiting")
    assert row.summary_source == "extractive"  # final at once: nothing pending
    assert row.summary.startswith("转人工")
    assert llm.seen == []
    worker.close()


@pytest.mark.parametrize(
    ("written", "source"),
    [
        (ZH_SUMMARY, "llm"),
        ("The customer lost a card and wants staff.", "extractive"),  # not the staff's language
        ("顾客要把5000元转到尾号8812的账户。", "extractive"),  # numbers not in the conversation
        ("顾客想办理「金卡理财」。", "extractive"),  # a product the conversation never named
    ],
    ids=["chinese", "english", "made-up-numbers", "made-up-product"],
)
def test_a_chinese_summary_is_checked_like_an_english_one(policy: Policy, written: str, source: str) -> None:
    llm = FakeSummarizer(languages=BOTH, zh_text=written)
    summary = HandoffSummarizer(llm, policy.thresholds, staff_lang="zh").summarize(rows(policy), "requested", "en")
    assert (summary.source, llm.asked) == (source, ["zh"])
    if source == "llm":
        assert summary.text == written
    else:
        assert summary.text == extractive_summary(rows(policy), "requested", "en", "zh")
        assert "“my card is gone" in summary.text  # the customer's words quoted as said
        assert "顾客语言：英文" in summary.text


@pytest.mark.parametrize(
    ("written", "kept"),
    [
        ("总结：顾客的卡丢了。顾客的卡丢了。要求转人工。", "顾客的卡丢了。要求转人工。"),
        ("顾客的卡丢了。要求转人工。顾客还问了", "顾客的卡丢了。要求转人工。"),
        ("一。二。三。四。五。", "一。二。三。四。"),
    ],
    ids=["repeated", "cut-off", "too-many"],
)
def test_a_chinese_paragraph_is_tidied(policy: Policy, written: str, kept: str) -> None:
    llm = FakeSummarizer(languages=BOTH, zh_text=written)
    summary = HandoffSummarizer(llm, policy.thresholds, staff_lang="zh").summarize(rows(policy), "requested", "en")
    assert summary.text == kept


def test_without_an_llm_the_extract_is_final(policy: Policy, store: Store) -> None:
    conversations = Conversations(engine(policy), store)
    talk(conversations)
    (row,) = store.handoffs("waiting")
    assert row.summary_source == "extractive"
    assert "human_agent (safety)" in row.summary


def test_an_old_database_gets_the_summary_column(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    with closing(sqlite3.connect(path)) as db:
        db.executescript(
            """
            CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            INSERT INTO meta VALUES ('schema_version', '1');
            CREATE TABLE sessions (id TEXT PRIMARY KEY, started_at TEXT NOT NULL, ended_at TEXT, lang TEXT,
                                   outcome TEXT);
            CREATE TABLE handoffs (id INTEGER PRIMARY KEY AUTOINCREMENT,
                session_id TEXT NOT NULL REFERENCES sessions(id), at TEXT NOT NULL, kind TEXT NOT NULL,
                reason TEXT NOT NULL, lang TEXT NOT NULL, summary TEXT NOT NULL,
                status TEXT NOT NULL DEFAULT 'waiting', note TEXT);
            INSERT INTO sessions (id, started_at) VALUES ('old', '2026-11-26T10:00:00');
            INSERT INTO handoffs (session_id, at, kind, reason, lang, summary)
                VALUES ('old', '2026-11-26T10:01:00', 'handoff', 'requested', 'zh', 'reason=requested');
            """
        )
        db.commit()
    store = Store(path)
    try:
        (old,) = store.handoffs("waiting")
        assert (old.summary, old.summary_source) == ("reason=requested", None)
        assert store.set_handoff_summary(old.id, f"call {PHONE}", "extractive")
        row = store.handoff(old.id)
        assert row is not None
        assert PHONE not in row.summary
        assert row.summary_source == "extractive"
    finally:
        store.close()
    Store(path).close()  # opening it again changes nothing


def test_summaries_left_pending_by_a_stopped_kiosk_are_resumed(policy: Policy, store: Store) -> None:
    said = Decision(reply="A colleague is coming.", lang="en", intent="human_agent", stage="safety", confidence=1.0,
                    action="handoff")  # fmt: skip
    store.record_turn("a", "text", "a person please", said, 1.0)
    waiting = store.add_handoff("a", "handoff", "requested", "en", "extract a", summary_source="pending")
    resolved = store.add_handoff("b", "handoff", "requested", "en", "extract b", summary_source="pending")
    store.set_handoff_status(resolved, "resolved", "clerk")
    llm = FakeSummarizer()
    worker = SummaryWorker(store, HandoffSummarizer(llm, policy.thresholds, staff_lang="en"))
    try:
        assert worker.resume() == 2
        assert worker.wait_idle(WAIT_S)
    finally:
        worker.close()
    sources = {row.id: (row.summary_source, row.summary) for row in store.handoffs(None)}
    assert sources[resolved] == ("extractive", "extract b")
    assert sources[waiting] == ("llm", llm.text)
    assert llm.seen == [["Customer: a person please", "Kiosk: A colleague is coming."]]  # only the unresolved one
    without_llm = SummaryWorker(store, HandoffSummarizer(None, policy.thresholds))
    assert without_llm.resume() == 0


class BrokenSummarizer:
    """Stands in for HandoffSummarizer with a bug: every summary raises."""

    uses_llm = True

    def summarize(self, turns: object, reason: str, lang: str) -> object:
        raise ZeroDivisionError("a bug while writing")


def test_a_summary_that_fails_leaves_the_extract_final_not_pending_for_ever(store: Store) -> None:
    waiting = store.add_handoff("a", "handoff", "requested", "en", "extract a", summary_source="pending")
    worker = SummaryWorker(store, BrokenSummarizer())  # type: ignore[arg-type]
    try:
        assert worker.resume() == 1
        assert worker.wait_idle(WAIT_S)
    finally:
        worker.close()
    row = store.handoff(waiting)
    assert row is not None
    assert (row.summary_source, row.summary) == ("extractive", "extract a")
