"""What one turn gave the customer: the decision behind it and what the kiosk did with it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kiosk.dialogue import Decision


@dataclass(frozen=True, slots=True)
class KioskStep:
    """A turn the kiosk answered itself, not the engine: a screen button, a failed stage, the ID card form.

    It says who decided (``stage``: ``ui``, ``asr``, ``error``, ``idcard``) and how
    sure it was, like a :class:`Decision`.
    """

    reply: str
    lang: str
    stage: str
    action: str
    emotion: str = "neutral"
    intent: str = ""
    confidence: float = 1.0
    buttons: tuple[tuple[str, str], ...] = ()
    handoff: str | None = None


@dataclass(frozen=True, slots=True)
class TurnRecord:
    """One turn (masked; for the page, the demo summary and tests).

    Attributes:
        session: The session id.
        source: ``text``, ``voice``, ``button`` or ``idcard``.
        heard: What the customer said or typed, masked.
        decision: The engine's decision (with its stage and confidence), or the kiosk's own step.
        reply: What the kiosk said: the decision's reply, plus a note when the ticket did not print.
        printed: The decision's ticket came out of the printer.
        skipped: Stages skipped (late or failed).
        asr_confidence: The recogniser's confidence (voice turns).
        timings_ms: Milliseconds per stage.
    """

    session: str
    source: str
    heard: str
    decision: Decision | KioskStep
    reply: str
    printed: bool = False
    skipped: tuple[str, ...] = ()
    asr_confidence: float | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def lang(self) -> str:
        """The reply's language."""
        return self.decision.lang

    @property
    def intent(self) -> str:
        """The intent decided ('' when none)."""
        return self.decision.intent

    @property
    def stage(self) -> str:
        """Who decided."""
        return self.decision.stage

    @property
    def confidence(self) -> float:
        """How sure the deciding stage was."""
        return self.decision.confidence

    @property
    def action(self) -> str:
        """What the turn did (answer, ask, ticket, handoff, …)."""
        return self.decision.action

    @property
    def emotion(self) -> str:
        """The avatar's expression."""
        return self.decision.emotion

    @property
    def buttons(self) -> tuple[tuple[str, str], ...]:
        """The reply's buttons as (id, label)."""
        if isinstance(self.decision, KioskStep):
            return self.decision.buttons
        return tuple((b.id, b.label) for b in self.decision.buttons)

    @property
    def ticket(self) -> str | None:
        """The queue ticket issued, if any."""
        return self.decision.ticket if isinstance(self.decision, Decision) else None

    @property
    def handoff(self) -> str | None:
        """``handoff`` or ``risk`` when staff were called."""
        if isinstance(self.decision, KioskStep):
            return self.decision.handoff
        return self.decision.handoff.kind if self.decision.handoff is not None else None

    def view(self) -> dict[str, Any]:
        """The turn as plain data (JSON-ready) for the page and the demo summary."""
        return {
            "session": self.session,
            "source": self.source,
            "heard": self.heard,
            "reply": self.reply,
            "lang": self.lang,
            "intent": self.intent,
            "stage": self.stage,
            "confidence": round(self.confidence, 4),
            "action": self.action,
            "emotion": self.emotion,
            "buttons": [list(b) for b in self.buttons],
            "ticket": self.ticket,
            "printed": self.printed,
            "handoff": self.handoff,
            "skipped": list(self.skipped),
            "asr_confidence": self.asr_confidence,
            "timings_ms": dict(self.timings_ms),
        }
