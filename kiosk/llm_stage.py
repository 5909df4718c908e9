"""The LLM stage as the dialogue engine sees it: budgeted, guarded by a circuit breaker."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from edge_models.errors import ModelError
from kiosk.dialogue.breaker import BreakerState, CircuitBreaker

if TYPE_CHECKING:
    from edge_models.llm import LlamaModel

_LOG = logging.getLogger(__name__)


class LlmStage:
    """Implements :class:`kiosk.dialogue.ports.LlmClassifier` over a :class:`LlamaModel`.

    Errors and time-outs are recorded by the breaker and answered with None,
    so the turn goes on with the next stage.

    Args:
        model: The loaded model.
        descriptions: A short English description of each label.
        breaker: Opens after repeated failures.
        clock: Monotonic seconds (injected for tests).
    """

    def __init__(
        self,
        model: LlamaModel,
        descriptions: dict[str, str],
        breaker: CircuitBreaker | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.model = model
        self._descriptions = descriptions
        self.breaker = breaker or CircuitBreaker()
        self._clock = clock
        self.calls = 0
        self.failures = 0

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages the model is asked about."""
        return self.model.languages

    @property
    def state(self) -> BreakerState:
        """The breaker's state now (for health pages)."""
        return self.breaker.state(self._clock())

    def classify(self, text: str, labels: Sequence[str]) -> tuple[str, float] | None:
        """The LLM's label and probability, or None (skipped, failed or late)."""
        if not self.breaker.allow(self._clock()):
            return None
        self.calls += 1
        try:
            guess = self.model.classify(text, labels, self._descriptions)
        except ModelError as err:
            self.failures += 1
            self.breaker.failure(self._clock())
            _LOG.warning("LLM stage skipped: %s", err)
            return None
        self.breaker.success()
        return guess.label, guess.confidence
