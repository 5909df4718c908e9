"""What the LLM adapter returns and how it is configured (re-exported by :mod:`edge_models.llm`)."""

from __future__ import annotations

from dataclasses import dataclass

from edge_models.cpu import LLM_NICE
from edge_models.errors import ModelError
from edge_models.llm_lookup import DRAFT


class LlmTimeoutError(ModelError):
    """A call ran past its time budget."""


class LlmBusyError(ModelError):
    """The model was busy with another call for the whole budget (not a fault of the model)."""


@dataclass(frozen=True, slots=True)
class LlmConfig:
    """How to run the model.

    Attributes:
        threads: CPU threads for generation.
        context: Context window in tokens.
        budget_s: Time budget of one call; past it the call fails.
        seed: Sampling seed (all uses are greedy anyway).
        nice: Nice value of the thread that runs the model (and of llama.cpp's workers it starts):
            the avatar and speech recognition keep the cores they need (see :mod:`edge_models.cpu`).
        follow_load: Use fewer threads while other work loads the machine or speech is
            recognised (:func:`edge_models.cpu.llm_threads`); off, always ``threads``.
        draft: Tokens drafted from the prompt and checked in one batch per step
            (:mod:`edge_models.llm_lookup`); 0: one token per step.
    """

    threads: int = 2
    context: int = 1024
    budget_s: float = 3.0
    seed: int = 0
    nice: int = LLM_NICE
    follow_load: bool = True
    draft: int = DRAFT


@dataclass(frozen=True, slots=True)
class LabelGuess:
    """The label the model chose and its probability under the model."""

    label: str
    confidence: float
    elapsed_s: float


@dataclass(frozen=True, slots=True)
class Generation:
    """Text the model wrote (greedy), with how sure it was of it.

    Attributes:
        text: The text, stripped.
        confidence: Geometric mean of the chosen tokens' probabilities, in [0, 1].
        tokens: Tokens generated.
        elapsed_s: Wall time of the call, waiting for the model included.
    """

    text: str
    confidence: float
    tokens: int
    elapsed_s: float
