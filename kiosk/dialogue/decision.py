"""What the dialogue engine decided for one turn."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Action = Literal["answer", "ask", "clarify", "handoff", "risk_alert", "ticket", "end"]
Stage = Literal["safety", "model", "llm", "rules", "fallback", "flow", "button"]
Emotion = Literal["neutral", "warm", "concerned", "apologetic", "happy"]


class Button(BaseModel):
    """A touch button offered with a reply."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="Stable id sent back when tapped, e.g. 'intent:card_lost'.")
    label: str = Field(description="Text shown on the button, in the reply's language.")


class Candidate(BaseModel):
    """One of the intents the engine considered, with its probability."""

    model_config = ConfigDict(frozen=True)

    intent: str
    confidence: float


class Handoff(BaseModel):
    """A request for branch staff raised by this turn."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["handoff", "risk"] = Field(description="'risk' for suspected fraud alerts.")
    reason: str = Field(description="Why: 'requested', 'repeated_misses', 'fraud_pattern', ...")


class ReplySource(BaseModel):
    """Where the text of a reply came from when a FAQ passage answered the question."""

    model_config = ConfigDict(frozen=True)

    stage: Literal["faq"] = Field(default="faq", description="The stage that supplied the text.")
    faq_id: str = Field(description="The knowledge base passage the text comes from.")
    composed: bool = Field(
        description="True: the LLM wrote the text from the passage and it passed the grounding checks; "
        "False: the passage as written."
    )
    confidence: float = Field(
        ge=0.0, le=1.0, description="The LLM's own confidence in its text when composed, else the retrieval score."
    )
    retrieval: float = Field(ge=0.0, le=1.0, description="Retrieval score of the passage.")
    note: str | None = Field(
        default=None,
        description="Why the passage is shown as written: 'off', 'language', 'no_draft' (LLM skipped, late or "
        "failed), 'ungrounded', 'polarity', 'qualifier', 'unsupported', 'unsure', ...; None when composed.",
    )


EvidenceKind = Literal["feature", "example", "rule", "faq", "llm", "trigger", "safety", "flow", "button"]


class Evidence(BaseModel):
    """One piece of why a stage decided as it did."""

    model_config = ConfigDict(frozen=True)

    kind: EvidenceKind = Field(
        description="'feature': an n-gram and its exact contribution to the intent's logit; 'example': a "
        "training example near the utterance (cosine); 'rule': a keyword pattern that matched; 'faq': the "
        "passage and its retrieval score; 'llm': the LLM's probability; 'trigger': what raised a hand-off; "
        "'safety': the safety rule kind; 'flow'/'button': the slot or button that decided."
    )
    label: str = Field(description="The feature, example text, pattern, passage id, trigger, ...")
    value: float | None = Field(default=None, description="Its weight: logit contribution, cosine, score, ...")
    intent: str | None = Field(default=None, description="The intent it speaks for (an example's label).")


class Reason(BaseModel):
    """Why this decision: the stage, a short human sentence and the evidence behind it."""

    model_config = ConfigDict(frozen=True)

    stage: str = Field(description="The stage that decided (as ``Decision.stage``), or 'handoff'.")
    text: str = Field(description="One short English sentence for staff.")
    evidence: tuple[Evidence, ...] = ()
    prompt_version: str | None = Field(default=None, description="The LLM prompt's version when the LLM decided.")
    trigger: str | None = Field(default=None, description="What triggered a hand-off or risk alert, if any.")


class Decision(BaseModel):
    """The engine's answer to one utterance.

    Every decision says which stage decided (``stage``) and how sure it was
    (``confidence``), even when it falls back. When a FAQ passage supplied the
    text, ``source`` says so, and whether the LLM composed it (with the LLM's
    confidence); the LLM never sets the action, buttons or hand-off.
    """

    model_config = ConfigDict(frozen=True)

    reply: str
    lang: Literal["zh", "en"]
    intent: str
    stage: Stage
    confidence: float = Field(ge=0.0, le=1.0)
    action: Action
    buttons: tuple[Button, ...] = ()
    emotion: Emotion = "neutral"
    ticket: str | None = Field(default=None, description="Queue ticket number issued by this turn.")
    handoff: Handoff | None = None
    flow: str | None = Field(default=None, description="Flow the session is in after this turn.")
    candidates: tuple[Candidate, ...] = ()
    source: ReplySource | None = Field(
        default=None, description="Where the reply's text came from when a FAQ passage answered; None: policy wording."
    )
    reason: Reason | None = Field(default=None, description="Why the engine decided so (issue 14).")


def decision_fields(decision: Decision) -> dict[str, Any]:
    """What the command line prints of a decision (``kiosk chat``, with and without ``--voice``)."""
    return {
        "reply": decision.reply,
        "lang": decision.lang,
        "intent": decision.intent,
        "stage": decision.stage,
        "confidence": decision.confidence,
        "action": decision.action,
        "buttons": [b.model_dump() for b in decision.buttons],
    }
