"""Answers the LLM writes from a FAQ passage, shown only when they check out against it.

The FAQ stage picks a passage; the LLM may say the same in fewer words and
in the customer's language. Its draft is shown only when every number and
product name in it is in the passage, most of its content words are, it
adds no negation the passage does not have, it is in the customer's
language and the model was sure enough of it (limits from the policy's
thresholds). Anything else shows the passage as written. The draft only
replaces text: the turn's action, buttons and hand-offs are decided before
and without it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from edge_models.grounding import (
    dropped_qualifier,
    flipped_sentence,
    grounded,
    in_language,
    new_affirmation,
    new_negation,
    support,
)
from kiosk.dialogue.decision import ReplySource
from kiosk.dialogue.faq import FaqHit
from kiosk.policy import Thresholds

_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*")
_LEAD = re.compile(r"^(?:[-*•]\s*|(?:answer|回答|答)\s*[:：]\s*)+", re.IGNORECASE)
_MAX_SENTENCES = 2


@dataclass(frozen=True, slots=True)
class Draft:
    """Text an LLM wrote, and how sure it was of it (mean token probability)."""

    text: str
    confidence: float


class LlmComposer(Protocol):
    """The LLM stage's second use: a short answer from retrieved passages."""

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages the model writes well enough to be asked."""
        ...

    def compose(
        self, question: str, passages: Sequence[str], lang: str, *, budget_s: float, max_tokens: int
    ) -> Draft | None:
        """A draft answer in ``lang`` from ``passages``, or None when skipped, late or failed.

        The question is customer text: the implementation passes it as quoted data.
        """
        ...


def clean_draft(text: str) -> str:
    """The draft's first paragraph, without list marks, labels or wrapping quotes, at most two sentences."""
    first = text.strip().split("\n", 1)[0].strip()
    first = _LEAD.sub("", first).strip().strip("\"'“”「」").strip()
    sentences = [part for part in _SENTENCE_END.split(first) if part]
    return "".join(f"{s} " if not s.endswith(("。", "！", "？")) else s for s in sentences[:_MAX_SENTENCES]).strip()


def check_draft(text: str, confidence: float, passages: Sequence[str], lang: str, limits: Thresholds) -> str | None:
    """None when a cleaned draft may be shown, else why not.

    Reasons, in the order checked: ``empty``, ``wrong_language``,
    ``ungrounded`` (a number or name not in the passages), ``polarity`` (a
    "not" or a "yes" they do not have, or a sentence of theirs restated with
    the opposite polarity), ``qualifier`` (a sentence of theirs that says "usually" / "可能"
    restated as always true), ``unsupported`` (too many content words not in
    them), ``unsure`` (model confidence below ``limits.llm_compose``).
    """
    if not text:
        return "empty"
    if not in_language(text, lang):
        return "wrong_language"
    if not grounded(text, passages):
        return "ungrounded"
    if new_negation(text, passages) or new_affirmation(text, passages) or flipped_sentence(text, passages):
        return "polarity"
    if dropped_qualifier(text, passages):
        return "qualifier"
    if support(text, passages) < limits.llm_compose_support:
        return "unsupported"
    if confidence < limits.llm_compose:
        return "unsure"
    return None


class AnswerComposer:
    """Turns a FAQ hit into the reply text, composed by the LLM when its draft checks out.

    Args:
        llm: The LLM stage, or None (passages are shown as written).
        limits: The policy's thresholds (``llm_compose*``).

    Attributes:
        outcomes: How each answer ended: ``composed``, or the reason the passage was used.
    """

    def __init__(self, llm: LlmComposer | None, limits: Thresholds) -> None:
        self._llm = llm
        self._limits = limits
        self.outcomes: Counter[str] = Counter()

    @property
    def enabled(self) -> bool:
        """True when an LLM is loaded and the policy lets it compose."""
        return self._llm is not None and self._limits.llm_compose < 1.0

    def answer(self, question: str, hit: FaqHit, lang: str) -> tuple[str, ReplySource]:
        """The reply text for ``hit`` in ``lang`` and where it came from.

        Args:
            question: The customer's (normalised) question: quoted data for the LLM.
            hit: The FAQ passage that answers it.
            lang: The reply language.
        """
        passage = hit.entry.answer.get(lang)
        retrieval = max(0.0, min(1.0, hit.score))
        note = self._why_not_asked(lang)
        draft = None
        if note is None and self._llm is not None:
            draft = self._llm.compose(
                question[:300],
                [passage],
                lang,
                budget_s=self._limits.llm_compose_budget_s,
                max_tokens=self._limits.llm_compose_tokens,
            )
            note = "no_draft" if draft is None else None
        if draft is not None:
            text = clean_draft(draft.text)
            note = check_draft(text, draft.confidence, [passage], lang, self._limits)
            if text == passage.strip():
                note = "copied"
            if note is None:
                self.outcomes["composed"] += 1
                confidence = round(max(0.0, min(1.0, draft.confidence)), 4)
                return text, ReplySource(
                    faq_id=hit.entry.id, composed=True, confidence=confidence, retrieval=round(retrieval, 4)
                )
        if note is not None:
            self.outcomes[note] += 1
        score = round(retrieval, 4)
        return passage, ReplySource(faq_id=hit.entry.id, composed=False, confidence=score, retrieval=score, note=note)

    def _why_not_asked(self, lang: str) -> str | None:
        if self._llm is None:
            return "no_llm"
        if self._limits.llm_compose >= 1.0:
            return "off"
        if lang not in self._llm.languages:
            return "language"
        return None
