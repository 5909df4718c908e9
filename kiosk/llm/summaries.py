"""Summaries of a conversation for the staff member who takes a hand-off.

When the engine hands a customer to staff, the hand-off is queued at once
with an extractive summary (the intents and stages the kiosk went through,
and the customer's last lines). A background thread then asks the LLM for a
one-paragraph summary of the same turns and replaces the extractive one
when it passes its checks: the customer's reply never waits for it.

Both summaries are written in the staff's language (the branch policy's
``staff_lang``, Chinese by default), whatever language the customer used;
the customer's own words are quoted as they were said. An LLM that does not
write the staff's language is not asked.

Everything here reads the turns as stored, so personal data was masked
before any of it reaches the LLM, and every summary is masked again before
it is stored: the LLM's words too.
"""

from __future__ import annotations

import atexit
import logging
import queue
import re
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeAlias, runtime_checkable

from edge_models.grounding import grounded, in_language
from kiosk.dialogue import Draft
from kiosk.policy import Thresholds
from kiosk.privacy import mask_pii

if TYPE_CHECKING:
    from kiosk.storage import Store

_LOG = logging.getLogger(__name__)

SummarySource: TypeAlias = Literal["llm", "extractive"]
MAX_SUMMARY_CHARS = 700
_LAST_CUSTOMER_LINES = 3
_TURNS_READ = 40
_MAX_SENTENCES = 4
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])\s*")
_FULL_STOPS = (".", "!", "?", "。", "！", "？")
_LEADS = ("Summary:", "summary:", "总结：", "总结:", "摘要：", "摘要:")


@runtime_checkable
class LlmSummarizer(Protocol):
    """The LLM stage's third use: a hand-off summary."""

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages the model writes well enough to be asked."""
        ...

    def summarize(
        self, lines: Sequence[str], *, lang: str, budget_s: float, max_tokens: int, wait_s: float
    ) -> Draft | None:
        """A summary in ``lang`` of (masked) conversation ``lines``, or None when skipped, late or failed."""
        ...

    def stop_background(self) -> None:
        """Cut a summary being written at its next token; later summaries return None (shutdown)."""
        ...


@dataclass(frozen=True, slots=True)
class Summary:
    """A masked hand-off summary and who wrote it."""

    text: str
    source: SummarySource


def transcript(turns: Sequence[Mapping[str, Any]]) -> list[str]:
    """``Customer: …`` and ``Kiosk: …`` lines from stored (masked) turn rows, oldest first."""
    lines = []
    for turn in turns:
        if turn.get("source") == "button":
            lines.append(f"Customer tapped: {turn['intent']}")
        elif turn.get("text"):
            lines.append(f"Customer: {turn['text']}")
        if turn.get("reply"):
            lines.append(f"Kiosk: {turn['reply']}")
    return lines


def extractive_summary(turns: Sequence[Mapping[str, Any]], reason: str, lang: str, staff_lang: str = "zh") -> str:
    """What the kiosk understood, turn by turn, and what the customer said last (masked), in ``staff_lang``.

    ``lang`` is the customer's language; the customer's lines are quoted as said.
    """
    path = " → ".join(f"{t['intent']} ({t['stage']})" for t in turns[-6:])
    said = [str(t["text"]) for t in turns if t.get("source") != "button" and t.get("text")]
    quoted = " | ".join(f"“{line[:160]}”" for line in said[-_LAST_CUSTOMER_LINES:])
    if staff_lang == "zh":
        language = {"zh": "中文", "en": "英文"}.get(lang, lang)
        text = (
            f"转人工（原因：{reason}，顾客语言：{language}），共 {len(turns)} 轮。"
            f"自助机的理解：{path or '没有记录'}。顾客说：{quoted or '没有输入或说话'}。"
        )
    else:
        text = (
            f"Hand-off ({reason}, {lang}) after {len(turns)} turn(s). "
            f"Kiosk understood: {path or 'no turns recorded'}. Customer said: {quoted or 'nothing typed or said'}."
        )
    return mask_pii(text)


def _clean(text: str) -> str:
    """One paragraph of at most four sentences, none said twice and none cut off by the token limit.

    English sentences are joined with a space, Chinese ones (ending in 。！？) without.
    """
    paragraph = " ".join(text.split())
    for lead in _LEADS:
        paragraph = paragraph.removeprefix(lead).strip()
    kept: list[str] = []
    for sentence in _SENTENCE_END.split(paragraph):
        if sentence and not any(k.lower().startswith(sentence.lower().rstrip(".!?。！？")) for k in kept):
            kept.append(sentence)
    if len(kept) > 1 and not kept[-1].endswith(_FULL_STOPS):
        kept.pop()  # cut off by the token limit
    return "".join(s if s.endswith(("。", "！", "？")) else f"{s} " for s in kept[:_MAX_SENTENCES]).strip()


class HandoffSummarizer:
    """Writes the summary of one handed-off conversation.

    Args:
        llm: The LLM stage, or None (extractive summaries only), or a function that returns the
            current one (the engine's LLM bundle may be switched between conversations).
        limits: The policy's thresholds (``llm_summary_budget_s``, ``llm_summary_tokens``), or a
            function that returns the current ones (the policy may be reloaded between conversations).
        wait_s: How long a summary may wait for a customer's LLM call to finish.
        staff_lang: The staff's language (``zh`` or ``en``), or a function that returns the
            current one (the branch policy's ``staff_lang``).
    """

    def __init__(
        self,
        llm: LlmSummarizer | Callable[[], LlmSummarizer | None] | None,
        limits: Thresholds | Callable[[], Thresholds],
        *,
        wait_s: float = 30.0,
        staff_lang: str | Callable[[], str] = "zh",
    ) -> None:
        self._llm_of: Callable[[], LlmSummarizer | None] = (
            (lambda: llm) if llm is None or isinstance(llm, LlmSummarizer) else llm
        )
        self._limits = limits if callable(limits) else lambda: limits
        self._wait_s = wait_s
        self._staff_lang = staff_lang if callable(staff_lang) else lambda: staff_lang

    @property
    def staff_lang(self) -> str:
        """The language summaries are written in now."""
        return self._staff_lang()

    def stop(self) -> None:
        """Cut the LLM's summary being written (shutdown): it ends with the extractive summary."""
        llm = self._llm_of()
        if llm is not None:
            llm.stop_background()

    @property
    def uses_llm(self) -> bool:
        """True when an LLM is there to be asked (it writes the staff's language)."""
        llm = self._llm_of()
        return llm is not None and self.staff_lang in llm.languages

    def summarize(self, turns: Sequence[Mapping[str, Any]], reason: str, lang: str) -> Summary:
        """The LLM's paragraph when it is there, in time and checks out, else the extractive summary.

        The LLM's paragraph is used only when it is not empty, not too long,
        in the staff's language, and every number and name in it occurs in
        the conversation; it is masked like everything else.

        Args:
            turns: The stored (masked) turns, oldest first.
            reason: Why the customer was handed over.
            lang: The customer's language.
        """
        lines = transcript(turns)
        staff_lang = self.staff_lang
        llm = self._llm_of()  # the LLM of the engine now in use: a switched bundle writes the next summary
        if llm is not None and lines and staff_lang in llm.languages:
            limits = self._limits()
            draft = llm.summarize(
                lines,
                lang=staff_lang,
                budget_s=limits.llm_summary_budget_s,
                max_tokens=limits.llm_summary_tokens,
                wait_s=self._wait_s,
            )
            if draft is not None:
                text = mask_pii(_clean(draft.text))
                if text and len(text) <= MAX_SUMMARY_CHARS and in_language(text, staff_lang) and grounded(text, lines):
                    return Summary(text, "llm")
                _LOG.info("LLM summary not used (empty, too long, wrong language or facts not in the conversation)")
        return Summary(extractive_summary(turns, reason, lang, staff_lang), "extractive")


class SummaryWorker:
    """Writes hand-off summaries into the store on one background thread.

    Args:
        store: Where the hand-offs and their turns are.
        summarizer: Writes each summary.
    """

    def __init__(self, store: Store, summarizer: HandoffSummarizer) -> None:
        self._store = store
        self.summarizer = summarizer
        self._queue: queue.Queue[int | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def queue_handoff(self, session_id: str, kind: str, reason: str, lang: str) -> int:
        """Queue a hand-off with its extractive summary now; the LLM's follows in the background.

        Returns:
            The hand-off's id.
        """
        turns = self._store.turns(session_id, limit=_TURNS_READ)
        extract = extractive_summary(turns, reason, lang, self.summarizer.staff_lang)
        source = "pending" if self.summarizer.uses_llm else "extractive"
        handoff_id = self._store.add_handoff(session_id, kind, reason, lang, extract, summary_source=source)
        if self.summarizer.uses_llm:
            self._submit(handoff_id)
        return handoff_id

    def resume(self) -> int:
        """Pick up summaries a previous run left pending (it stopped before the LLM finished).

        With an LLM they are queued again; without one the extract they hold is final.

        Returns:
            How many were pending.
        """
        pending = [row for row in self._store.handoffs(None) if row.summary_source == "pending"]
        for row in pending:
            if self.summarizer.uses_llm and row.status != "resolved":
                self._submit(row.id)
            else:
                self._store.set_handoff_summary(row.id, row.summary, "extractive")
        return len(pending)

    def _submit(self, handoff_id: int) -> None:
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="handoff-summaries", daemon=True)
                self._thread.start()
                atexit.register(_close_at_exit, weakref.ref(self))
        self._queue.put(handoff_id)

    def _work(self) -> None:
        while True:
            handoff_id = self._queue.get()
            try:
                if handoff_id is None:
                    return
                self._write(handoff_id)
            except sqlite3.ProgrammingError:
                # The kiosk is shutting down and closed its store: the row stays pending and
                # :meth:`resume` picks it up at the next start.
                _LOG.info("hand-off %s: store closed, summary left pending", handoff_id)
            except Exception:  # noqa: BLE001 - a failed summary leaves the extractive one; the worker goes on
                _LOG.exception("hand-off %s: summary not written", handoff_id)
                if handoff_id is not None:
                    self._settle_extractive(handoff_id)
            finally:
                self._queue.task_done()

    def _write(self, handoff_id: int) -> None:
        row = self._store.handoff(handoff_id)
        if row is None:
            return
        turns = self._store.turns(row.session_id, limit=_TURNS_READ)
        summary = self.summarizer.summarize(turns, row.reason, row.lang)
        self._store.set_handoff_summary(handoff_id, summary.text, summary.source)

    def _settle_extractive(self, handoff_id: int) -> None:
        """Keep the plain summary as final, so staff do not wait for one that will never come."""
        try:
            row = self._store.handoff(handoff_id)
            if row is not None and row.summary_source == "pending":
                self._store.set_handoff_summary(handoff_id, row.summary, "extractive")
        except Exception:  # noqa: BLE001 - the store itself is failing: the row stays pending for resume()
            _LOG.exception("hand-off %s: could not keep the plain summary", handoff_id)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every queued summary is written; False when ``timeout`` passed first."""
        deadline = time.monotonic() + timeout
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._queue.all_tasks_done.wait(remaining)
        return True

    def close(self, timeout: float = 5.0, *, cut: bool = False) -> None:
        """Stop the thread after the summaries already queued (waiting at most ``timeout``).

        With ``cut``, a summary the LLM is writing stops at its next token and
        the queued ones get their extractive summary: the process can exit
        at once, and nothing is left pending for the next start to redo.
        """
        if cut:
            self.summarizer.stop()
        thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join(timeout)


def _close_at_exit(ref: weakref.ref[SummaryWorker]) -> None:
    """Let a summary being written finish (briefly) before the interpreter tears the model down."""
    worker = ref()
    if worker is not None:
        worker.close(timeout=5.0, cut=True)
