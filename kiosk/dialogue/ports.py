"""Interfaces the engine calls out through; the runtime plugs real ones in."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from edge_models.intent_explain import ModelExplanation


class IntentClassifier(Protocol):
    """A statistical intent model (the ONNX model on the kiosk)."""

    @property
    def threshold(self) -> float:
        """Confidence at or above which the model's answer is trusted."""
        ...

    def predict(self, text: str) -> Sequence[tuple[str, float]]:
        """Calibrated probabilities for normalised ``text``, best first.

        Raises:
            Exception: any failure; the engine skips the stage and goes on.
        """
        ...


@runtime_checkable
class ExplainingClassifier(Protocol):
    """An intent model that can say why it leans to a label (the ONNX model does)."""

    def explain(self, text: str, intent: str, *, k: int = 5) -> ModelExplanation:
        """Top n-gram contributions and nearest training examples for ``intent``.

        Raises:
            Exception: any failure; the decision then carries no model evidence.
        """
        ...


@runtime_checkable
class VersionedPrompt(Protocol):
    """An LLM stage that names the version of its classification prompt."""

    @property
    def prompt_version(self) -> str:
        """The prompt's version."""
        ...


class LlmClassifier(Protocol):
    """The LLM stage: picks among candidate labels when the intent model is unsure."""

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages the model understands well enough to ask."""
        ...

    def classify(self, text: str, labels: Sequence[str]) -> tuple[str, float] | None:
        """The chosen label and its probability, or None when skipped, late or failed."""
        ...


class TicketDispenser(Protocol):
    """Issues queue ticket numbers (the store keeps the counters)."""

    def issue_ticket(self, service_id: str, prefix: str) -> str:
        """A new ticket number for ``service_id``, e.g. ``A012``."""
        ...


class MemoryTicketDispenser:
    """Ticket numbers counted in memory (tests, ``kiosk nlu``)."""

    def __init__(self) -> None:
        self._counters: defaultdict[str, int] = defaultdict(int)
        self.issued: list[str] = []

    def issue_ticket(self, service_id: str, prefix: str) -> str:
        """Next number for the service, from 001."""
        self._counters[service_id] += 1
        number = f"{prefix}{self._counters[service_id]:03d}"
        self.issued.append(number)
        return number
