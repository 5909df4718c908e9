"""The small LLM on the kiosk: a GGUF model run by llama-cpp-python.

Every use returns how sure the model was or None, and each call has a time
budget. The model never decides an action: it picks among labels it is
given (it scores only those), or writes text that
is checked before use. Customer text inside a prompt is quoted data.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_models.errors import ModelCorruptError, ModelError, ModelMissingError, verify_model_bundle
from sync.bundle import Manifest

LLM_CONFIG_FILE = "llm.json"
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*%?")
_TITLE_TERM = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)+\b")
_CJK_QUOTED = re.compile(r"[「“\"《]([^」”\"》]{2,20})[」”\"》]")


class LlmTimeoutError(ModelError):
    """A call ran past its time budget."""


@dataclass(frozen=True, slots=True)
class LlmConfig:
    """How to run the model.

    Attributes:
        threads: CPU threads for generation.
        context: Context window in tokens.
        budget_s: Time budget of one call; past it the call fails.
        seed: Sampling seed (all uses are greedy anyway).
    """

    threads: int = 2
    context: int = 1024
    budget_s: float = 3.0
    seed: int = 0


@dataclass(frozen=True, slots=True)
class LabelGuess:
    """The label the model chose and its probability under the model."""

    label: str
    confidence: float
    elapsed_s: float


def grounded(answer: str, sources: Sequence[str]) -> bool:
    """True when every number and product name in ``answer`` appears in ``sources``."""
    corpus = " ".join(sources)
    compact = corpus.replace(",", "")
    for number in _NUMBER.findall(answer):
        if number not in corpus and number.replace(",", "") not in compact:
            return False
    names = _TITLE_TERM.findall(answer) + _CJK_QUOTED.findall(answer)
    return all(name in corpus for name in names)


class LlamaModel:
    """A GGUF model from an ``llm`` bundle.

    The bundle holds the .gguf file and ``llm.json``:
    ``{"file": "model.gguf", "prompt_style": "chat"|"completion", "languages": ["en"]}``.

    Raises:
        ModelMissingError: the bundle or its model file is missing.
        ModelCorruptError: a file fails its hash check or llama.cpp cannot load it.
    """

    def __init__(self, bundle_dir: Path, config: LlmConfig | None = None, *, verify: bool = True) -> None:
        self.config = config or LlmConfig()
        self.manifest: Manifest | None = None
        if verify:
            self.manifest = verify_model_bundle(bundle_dir, "llm")
        try:
            spec = json.loads((bundle_dir / LLM_CONFIG_FILE).read_text(encoding="utf-8"))
            self.model_path = bundle_dir / str(spec["file"])
            self.prompt_style = str(spec.get("prompt_style", "chat"))
            self.languages = tuple(spec.get("languages", ("en",)))
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ModelCorruptError(f"{bundle_dir}: bad {LLM_CONFIG_FILE}: {err}") from err
        if not self.model_path.is_file():
            raise ModelMissingError(f"{self.model_path} does not exist")
        from llama_cpp import Llama

        try:
            self._llm = Llama(
                model_path=str(self.model_path),
                n_ctx=self.config.context,
                n_threads=self.config.threads,
                n_threads_batch=self.config.threads,
                logits_all=False,
                seed=self.config.seed,
                verbose=False,
            )
        except (ValueError, RuntimeError) as err:
            raise ModelCorruptError(f"{self.model_path}: llama.cpp cannot load it: {err}") from err
        self._template = self._llm.metadata.get("tokenizer.chat_template")
        self._lock = threading.Lock()

    @property
    def version(self) -> str:
        """Bundle version, or 'unverified'."""
        return self.manifest.version if self.manifest else "unverified"

    def prompt(self, system: str, user: str) -> str:
        """The model's prompt for one instruction, in its own chat format."""
        if self.prompt_style == "chat" and self._template:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            formatter = Jinja2ChatFormatter(
                template=self._template,
                eos_token=self._llm.detokenize([self._llm.token_eos()]).decode(errors="ignore"),
                bos_token=self._llm.detokenize([self._llm.token_bos()]).decode(errors="ignore"),
            )
            messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
            return str(formatter(messages=messages).prompt)  # type: ignore[arg-type]
        return f"{system}\n\n{user}\n"

    def complete(self, prompt: str, *, max_tokens: int) -> dict[str, Any]:
        """One greedy completion within the time budget.

        Raises:
            LlmTimeout: generation was stopped at the budget.
            ModelError: llama.cpp failed.
        """
        from llama_cpp import StoppingCriteriaList

        started = time.monotonic()
        late = False

        def past_budget(_ids: Any, _logits: Any) -> bool:
            nonlocal late
            late = time.monotonic() - started > self.config.budget_s
            return late

        kwargs: dict[str, Any] = {
            "max_tokens": max_tokens,
            "temperature": 0.0,
            "stopping_criteria": StoppingCriteriaList([past_budget]),
        }
        with self._lock:
            try:
                out: dict[str, Any] = self._llm.create_completion(prompt, **kwargs)  # type: ignore[assignment]
            except (ValueError, RuntimeError) as err:
                raise ModelError(f"llama.cpp failed: {err}") from err
        if late:
            raise LlmTimeoutError(f"LLM call ran past {self.config.budget_s:.1f} s")
        return out

    def classify(self, text: str, labels: Sequence[str], descriptions: dict[str, str]) -> LabelGuess:
        """Pick one of ``labels`` for a customer message, with its probability.

        Each label is scored by the log-probability of its tokens after the
        prompt, and the scores are normalised over the label set: the output
        is constrained to the labels by construction (the same as decoding
        under a grammar that allows only them), and the confidence is the
        model's own probability of the label among them. The customer text is
        data, quoted and truncated; instructions inside it cannot make the
        model answer anything but a label.

        Raises:
            LlmTimeout: scoring ran past the budget.
            ModelError: llama.cpp failed.
        """
        import numpy as np

        started = time.monotonic()
        menu = "\n".join(f"- {label}: {descriptions.get(label, label)}" for label in labels)
        system = "You sort messages that bank customers type at a branch kiosk. Reply with one label from the list."
        user = f"Labels:\n{menu}\n\nCustomer message: {json.dumps(text[:300], ensure_ascii=False)}\nLabel:"
        prompt = self.prompt(system, user)
        llm = self._llm
        scores: list[float] = []
        with self._lock:
            try:
                llm.reset()  # type: ignore[no-untyped-call]
                llm.eval(llm.tokenize(prompt.encode(), add_bos=True, special=True))
                prompt_len = llm.n_tokens
                after_prompt = self._last_logits()
                for label in labels:
                    if time.monotonic() - started > self.config.budget_s:
                        raise LlmTimeoutError(f"LLM call ran past {self.config.budget_s:.1f} s")
                    llm.n_tokens = prompt_len  # rewind: the KV cache after the prompt is reused
                    logits = after_prompt
                    total = 0.0
                    tokens = llm.tokenize(label.encode(), add_bos=False, special=False)
                    for i, token in enumerate(tokens):
                        top = logits.max()
                        total += float(logits[token] - top - np.log(np.exp(logits - top).sum()))
                        if i + 1 < len(tokens):
                            llm.eval([token])
                            logits = self._last_logits()
                    scores.append(total)
            except (ValueError, RuntimeError) as err:
                raise ModelError(f"llama.cpp failed: {err}") from err
        probs = np.exp(np.array(scores) - max(scores))
        probs /= probs.sum()
        best = int(np.argmax(probs))
        return LabelGuess(labels[best], float(probs[best]), time.monotonic() - started)

    def _last_logits(self) -> Any:
        """Logits after the last evaluated token (llama.cpp keeps only those)."""
        import llama_cpp
        import numpy as np

        pointer = llama_cpp.llama_get_logits(self._llm.ctx)
        return np.ctypeslib.as_array(pointer, shape=(self._llm.n_vocab(),)).astype(np.float64)

    def compose(self, question: str, passages: Sequence[str], lang: str) -> str | None:
        """A short answer from ``passages``; None unless every number and name is grounded in them."""
        language = "Chinese" if lang == "zh" else "English"
        system = (
            "You are a bank kiosk assistant. Answer in one or two short sentences in "
            f"{language}, using only the facts in the passages. Never add numbers."
        )
        sources = "\n".join(f"- {p}" for p in passages)
        user = f"Passages:\n{sources}\n\nQuestion: {json.dumps(question[:300], ensure_ascii=False)}\nAnswer:"
        out = self.complete(self.prompt(system, user), max_tokens=80)
        answer = str(out["choices"][0]["text"]).strip()
        if not answer or not grounded(answer, [*passages]):
            return None
        return answer

    def summarize(self, lines: Sequence[str]) -> str | None:
        """One paragraph for the staff member who takes a hand-off (input already masked)."""
        system = "Summarise this bank kiosk conversation for the staff member who takes over. One short paragraph."
        user = "\n".join(lines[-12:])[:1500]
        out = self.complete(self.prompt(system, user), max_tokens=90)
        summary = str(out["choices"][0]["text"]).strip()
        return summary or None
