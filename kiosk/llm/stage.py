"""The LLM stage as the kiosk sees it: budgeted, guarded by a circuit breaker.

One breaker covers the model's three uses (intent fallback, composed
answers, hand-off summaries): a model that fails or runs late in one of
them is given a rest from all of them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from edge_models.errors import ModelError
from kiosk.dialogue import BreakerState, CircuitBreaker, Draft

if TYPE_CHECKING:
    from edge_models.llm import LlamaModel

_LOG = logging.getLogger(__name__)
_T = TypeVar("_T")


class LlmStage:
    """The LLM behind the engine's ports, over a :class:`LlamaModel`.

    Implements :class:`kiosk.dialogue.ports.LlmClassifier`,
    :class:`kiosk.dialogue.compose.LlmComposer` and
    :class:`kiosk.llm.summaries.LlmSummarizer`. Errors and time-outs are
    recorded by the breaker and answered with None, so the turn goes on
    with the next stage. A call that finds the model busy with another one
    for its whole budget is skipped without counting as a failure.

    Args:
        model: The loaded model.
        descriptions: A short English description of each label.
        breaker: Opens after repeated failures.
        clock: Monotonic seconds (injected for tests).

    Attributes:
        calls: Calls let through by the breaker.
        failures: Calls that failed or ran late.
        busy: Calls skipped because the model was busy.
        warmed: Set when :meth:`warm` has ended.
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
        self._guard = threading.Lock()  # turns and the summary thread share the breaker
        self.calls = 0
        self.failures = 0
        self.busy = 0
        self.warmed = threading.Event()  # set when warm() has ended, read ahead or not (benchmarks wait for it)

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages the model is asked about."""
        return self.model.languages

    @property
    def prompt_version(self) -> str:
        """Version of the classification prompt (recorded with the decisions the LLM makes)."""
        from edge_models.llm import CLASSIFY_PROMPT_VERSION

        return CLASSIFY_PROMPT_VERSION

    @property
    def state(self) -> BreakerState:
        """The breaker's state now (for health pages)."""
        with self._guard:
            return self.breaker.state(self._clock())

    def _run(self, use: str, call: Callable[[], _T]) -> _T | None:
        """``call()`` under the breaker: its result, or None when skipped, busy, failed or late."""
        from edge_models.llm import LlmBusyError

        with self._guard:
            if not self.breaker.allow(self._clock()):
                return None
            self.calls += 1
        try:
            result = call()
        except LlmBusyError as err:
            with self._guard:
                self.busy += 1
                self.breaker.release()
            _LOG.info("LLM %s skipped: %s", use, err)
            return None
        except ModelError as err:
            with self._guard:
                self.failures += 1
                self.breaker.failure(self._clock())
            _LOG.warning("LLM %s skipped: %s", use, err)
            return None
        except Exception:  # noqa: BLE001 - any other fault opens the breaker too; the turn goes on without the LLM
            with self._guard:
                self.failures += 1
                self.breaker.failure(self._clock())
            _LOG.exception("LLM %s failed", use)
            return None
        with self._guard:
            self.breaker.success()
        return result

    def warm(self) -> bool:
        """Read the label-choice prompt's fixed start before the first customer needs it (background).

        Not a call of the stage: the breaker and the counts are left alone. False when it
        gave way or failed (the first customer's call reads the prompt itself).
        """
        try:
            self.model.warm(self._descriptions)
        except ModelError as err:  # LlmBusyError and LlmTimeoutError are ModelErrors
            _LOG.warning("LLM prompt not read ahead (the first calls read it, and may be cut): %s", err)
            return False
        finally:
            self.warmed.set()
        return True

    def classify(self, text: str, labels: Sequence[str]) -> tuple[str, float] | None:
        """The LLM's label and probability, or None (skipped, failed or late)."""
        guess = self._run("classify", lambda: self.model.classify(text, labels, self._descriptions))
        return None if guess is None else (guess.label, guess.confidence)

    def compose(
        self, question: str, passages: Sequence[str], lang: str, *, budget_s: float, max_tokens: int
    ) -> Draft | None:
        """A draft answer from ``passages`` (unchecked: the engine checks it), or None."""
        out = self._run(
            "compose",
            lambda: self.model.compose(question, passages, lang, budget_s=budget_s, max_tokens=max_tokens),
        )
        return None if out is None else Draft(out.text, out.confidence)

    def stop_background(self) -> None:
        """Cut a hand-off summary being written at its next token (shutdown)."""
        self.model.stop_background()

    def summarize(
        self, lines: Sequence[str], *, lang: str, budget_s: float, max_tokens: int, wait_s: float
    ) -> Draft | None:
        """A hand-off summary in ``lang`` of (masked) ``lines`` (unchecked), or None.

        ``wait_s`` is how long it may wait for a customer's call to finish
        with the model; the budget starts when it has the model.
        """
        out = self._run(
            "summary",
            lambda: self.model.summarize(lines, lang=lang, budget_s=budget_s, max_tokens=max_tokens, wait_s=wait_s),
        )
        return None if out is None else Draft(out.text, out.confidence)
