"""What the dialogue engine decided for one turn."""

from __future__ import annotations

from typing import Literal

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


class Decision(BaseModel):
    """The engine's answer to one utterance.

    Every decision says which stage decided (``stage``) and how sure it was
    (``confidence``), even when it falls back.
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
