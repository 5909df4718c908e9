"""The small LLM on the kiosk: a GGUF model run by llama-cpp-python.

Every use returns how sure the model was or None, and each call has a time
budget. The model never decides an action: it picks among labels it is
given (it scores only those), or writes text (a FAQ answer, a hand-off
summary) that its caller checks before use (:mod:`edge_models.grounding`).
Customer text inside a prompt is quoted data.
"""

from __future__ import annotations

import functools
import itertools
import json
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bundles import Manifest
from edge_models.cpu import LowPriorityWorker, OwnLoad, llm_threads, wait_for_speech
from edge_models.errors import ModelCorruptError, ModelError, ModelMissingError, verify_model_bundle
from edge_models.grounding import grounded
from edge_models.llm_labels import label_scores
from edge_models.llm_lookup import logits_of, write
from edge_models.llm_prefix import PrefixCache
from edge_models.llm_prompts import (
    CLASSIFY_PROMPT_VERSION,
    CLASSIFY_SYSTEM,
    CLASSIFY_USER,
    compose_prompt,
    summary_prompt,
)
from edge_models.llm_read_ahead import PrefixReader
from edge_models.llm_types import Generation, LabelGuess, LlmBusyError, LlmConfig, LlmTimeoutError

LLM_CONFIG_FILE = "llm.json"
# A background generation paused for speech recognition looks this often for a customer's call waiting.
_PAUSE_LOOK_S = 0.05
_MESSAGE = "Customer message: "  # where the label-choice prompt's fixed start ends
_PREFIX_CACHE_SIZE = 8  # saved KV states of prompt prefixes (system prompt, label menu, FAQ passages)
__all__ = [
    "CLASSIFY_PROMPT_VERSION",
    "CLASSIFY_SYSTEM",
    "CLASSIFY_USER",
    "LLM_CONFIG_FILE",
    "Generation",
    "LabelGuess",
    "LlamaModel",
    "LlmBusyError",
    "LlmConfig",
    "LlmTimeoutError",
    "compose_prompt",
    "grounded",
    "summary_prompt",
]


def _menu_end(prompt: str) -> int:
    """Where a label-choice prompt's fixed start (system prompt and menu) ends.

    At the template's marker, found before the customer's words, so a marker quoted in them does not count.
    """
    return prompt.find(_MESSAGE) + len(_MESSAGE)


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
        self._customers_waiting = 0  # customer calls (classify, compose) waiting for the model
        self._stopping = threading.Event()  # set at shutdown: background generation stops at the next token
        self._reads_ahead = itertools.count(1)  # warm() calls; a newer one supersedes an older one still reading
        self._read_ahead = 0  # the newest warm() call's number
        self._prefixes = PrefixCache(self._llm, _PREFIX_CACHE_SIZE)
        self._passages = PrefixReader(self._read_prefix)  # FAQ passages a cut compose call left unread
        self.threads = self.config.threads  # threads in use now (see _pace)
        self._own_load = OwnLoad()  # the load average's part that is this model's own threads
        self.paused_s = 0.0  # time generation waited for speech recognition (read by benchmarks)
        self.batches = 0  # evaluation steps of generated text (read by benchmarks: tokens per step)
        self._waiting_lock = threading.Lock()
        self._worker = LowPriorityWorker(self.config.nice)  # every llama.cpp evaluation runs on it

    @property
    def prefix_hits(self) -> int:
        """Calls that reused a saved prompt prefix (read by tests and benchmarks)."""
        return self._prefixes.hits

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
            LlmBusyError: another call held the model for the whole budget.
            LlmTimeoutError: generation was stopped at the budget.
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
        with self._hold(self.config.budget_s):
            try:
                out: dict[str, Any] = self._worker.run(
                    lambda: self._llm.create_completion(prompt, **kwargs)  # type: ignore[arg-type,return-value]
                )
            except (ValueError, RuntimeError) as err:
                raise ModelError(f"llama.cpp failed: {err}") from err
        if late:
            raise LlmTimeoutError(f"LLM call ran past {self.config.budget_s:.1f} s")
        return out

    def classify(self, text: str, labels: Sequence[str], descriptions: dict[str, str]) -> LabelGuess:
        """Pick one of ``labels`` for a customer message, with its probability.

        Each label is scored by its log-probability after the prompt under a
        grammar that allows only the labels (:mod:`edge_models.llm_labels`):
        the output is constrained to the labels by construction, and the
        confidence is the model's own probability of the label among them. The customer text is
        data, quoted and truncated; instructions inside it cannot make the
        model answer anything but a label.

        Raises:
            LlmBusyError: another call held the model for the whole budget.
            LlmTimeoutError: scoring ran past the budget.
            ModelError: llama.cpp failed.
        """
        import numpy as np

        labels = list(dict.fromkeys(labels))
        if not labels:
            raise ValueError("no labels to choose among")
        started = time.monotonic()
        prompt = self._classify_prompt(text, labels, descriptions)
        deadline = started + self.config.budget_s
        held = self._lock.locked()  # another call (a read-ahead, a summary) has the model now
        with self._hold(self.config.budget_s):
            if held and deadline - time.monotonic() < self.config.budget_s / 2:
                raise LlmBusyError("the LLM was busy with another call for half of this call's budget")
            scores = self._worker.run(lambda: self._score(prompt, labels, deadline))
        probs = np.exp(np.array(scores) - max(scores))
        probs /= probs.sum()
        best = int(np.argmax(probs))
        return LabelGuess(labels[best], float(probs[best]), time.monotonic() - started)

    def _classify_prompt(self, text: str, labels: Sequence[str], descriptions: dict[str, str]) -> str:
        """The label-choice prompt: every described label on the menu (a fixed start), then the message.

        The menu is the same whichever ``labels`` are scored, so its KV state is read once.
        """
        menu = "\n".join(
            f"- {label}: {descriptions.get(label, label)}" for label in dict.fromkeys([*descriptions, *labels])
        )
        message = json.dumps(text[:300], ensure_ascii=False)
        user = CLASSIFY_USER.format(menu=menu, message=message, choices=", ".join(labels))
        return self.prompt(CLASSIFY_SYSTEM, user)

    def warm(self, descriptions: dict[str, str], *, budget_s: float = 600.0) -> None:
        """Read the label-choice prompt's fixed start now, so that no customer's call waits for it.

        Meant for when the model loads, before customers: it waits for a call holding the
        model, and a customer's call that comes meanwhile waits for it (and is skipped as
        busy if half its budget runs out), since it would have to read the same prompt
        itself. Its threads follow speech recognition as every call's do. The menu's KV state
        is pinned: no other prompt's evicts it. It stops at shutdown, and when a newer call
        (a new policy's menu) supersedes it.

        Raises:
            LlmBusyError: the model stayed busy with other calls for ``budget_s``, shutdown, or superseded.
            LlmTimeoutError: it did not finish within ``budget_s``.
            ModelError: llama.cpp failed.
        """
        prompt = self._classify_prompt("", (), descriptions)
        deadline = time.monotonic() + budget_s
        self._read_ahead = mine = next(self._reads_ahead)

        def give_way() -> None:
            if self._stopping.is_set():
                raise LlmBusyError("stopped: the kiosk is shutting down")
            if self._read_ahead != mine:
                raise LlmBusyError("superseded: a newer label menu is being read ahead")
            self._pace()

        def read() -> None:
            give_way()  # superseded while it waited for the model: the menu is obsolete
            tokens, prefix = self._prefixes.split(prompt, _menu_end(prompt))
            self._prefixes.pin(tuple(tokens[:prefix]))  # the menu stays, whatever else is cached
            self._prefixes.start(tokens, prefix, deadline, give_way)

        with self._hold(budget_s, background=True):
            try:
                self._worker.run(read)
            except (ValueError, RuntimeError) as err:
                raise ModelError(f"llama.cpp failed: {err}") from err

    def _score(self, prompt: str, labels: Sequence[str], deadline: float) -> list[float]:
        """Log-probability of each label after ``prompt``, under a labels-only grammar (on the worker thread).

        The model reads the prompt and then only the tokens where labels part ways
        (:func:`edge_models.llm_labels.label_scores`), each from the KV cache after the prompt.
        """
        llm = self._llm
        try:
            tokens, prefix = self._prefixes.split(prompt, _menu_end(prompt))
            self._prefixes.start(tokens, prefix, deadline, lambda: self._give_way(False, deadline))
            prompt_len = llm.n_tokens
            after_prompt = self._last_logits()

            def logits_at(path: tuple[int, ...]) -> Any:
                if not path:
                    return after_prompt
                if time.monotonic() > deadline:
                    raise LlmTimeoutError(f"LLM call ran past {self.config.budget_s:.1f} s")
                self._give_way(False, deadline)
                llm.n_tokens = prompt_len  # rewind: the KV cache after the prompt is reused
                llm.eval(list(path))
                return self._last_logits()

            label_tokens = [llm.tokenize(label.encode(), add_bos=False, special=False) for label in labels]
            return label_scores(label_tokens, logits_at)
        except (ValueError, RuntimeError) as err:
            raise ModelError(f"llama.cpp failed: {err}") from err

    @contextmanager
    def _hold(self, wait_s: float, *, background: bool = False) -> Iterator[None]:
        """The model to oneself (one call at a time), waiting at most ``wait_s``.

        A customer's call (not ``background``) is counted while it waits, so a
        background generation gives way to it (see :meth:`generate`).

        Raises:
            LlmBusyError: another call held it all that time.
        """
        if not background:
            with self._waiting_lock:
                self._customers_waiting += 1
        try:
            acquired = self._lock.acquire(timeout=max(0.0, wait_s))
        finally:
            if not background:
                with self._waiting_lock:
                    self._customers_waiting -= 1
        if not acquired:
            raise LlmBusyError(f"the LLM stayed busy with another call for {wait_s:.1f} s")
        try:
            self._pace()
            yield
        finally:
            self._own_load.running(0)  # idle until the next call
            self._lock.release()

    def _pace(self) -> None:
        """Set the LLM's threads for now: speech recognition first, then the machine's load (see edge_models.cpu)."""
        import llama_cpp

        threads = self.config.threads
        if self.config.follow_load:
            threads = llm_threads(threads, own=self._own_load.running(self.threads))
        self._own_load.running(threads)
        if threads != self.threads:
            llama_cpp.llama_set_n_threads(self._llm._ctx.ctx, threads, threads)
            self.threads = threads

    def stop_background(self) -> None:
        """Cut background generation (hand-off summaries) at its next token, now and from now on (shutdown)."""
        self._stopping.set()

    def _give_way(self, background: bool, deadline: float) -> None:
        """Between two evaluations: set the threads; a background generation also gives way.

        A background generation (no customer waits for it) pauses while speech is recognised and
        stops as soon as a customer's call waits for the model, or at shutdown. A customer's call
        goes on, on one thread while speech is recognised (see :func:`edge_models.cpu.llm_threads`).

        Raises:
            LlmBusyError: a customer's call is waiting, or the kiosk is stopping.
            LlmTimeoutError: speech recognition ran until a background call's deadline.
        """
        if background and self._stopping.is_set():
            raise LlmBusyError("stopped: the kiosk is shutting down")
        if background and self._customers_waiting:
            raise LlmBusyError("gave way to a customer's call")
        paused = time.monotonic()
        if background and not wait_for_speech(0.0):
            self._own_load.running(0)  # paused: its threads are not part of the load (_pace counts them again)
        while background and not wait_for_speech(min(deadline, time.monotonic() + _PAUSE_LOOK_S)):
            self.paused_s += time.monotonic() - paused
            paused = time.monotonic()
            if self._customers_waiting or self._stopping.is_set():
                raise LlmBusyError("gave way to a customer's call (or shutdown) while speech was recognised")
            if paused >= deadline:
                raise LlmTimeoutError("background LLM call paused for speech recognition until its budget ran out")
        self.paused_s += time.monotonic() - paused
        self._pace()

    def _last_logits(self) -> Any:
        """Logits after the last evaluated token (llama.cpp keeps only those)."""
        return logits_of(self._llm)[0]

    def generate(
        self,
        prompt: str,
        *,
        max_tokens: int,
        budget_s: float | None = None,
        wait_s: float | None = None,
        stop: Sequence[str] = (),
        background: bool = False,
        prefix_chars: int = 0,
    ) -> Generation:
        """Greedy generation with the probability of every chosen token.

        Args:
            prompt: The full prompt (see :meth:`prompt`).
            max_tokens: At most this many tokens are generated.
            budget_s: Time budget of the call (default: the config's).
            wait_s: How long to wait for the model when another call holds it;
                None: the wait counts against ``budget_s``.
            stop: Generation ends at the first of these markers (cut off with what follows).
            background: Not for a waiting customer (a hand-off summary): it gives the model
                up, with :class:`LlmBusyError`, as soon as a customer's call waits for it.
            prefix_chars: The prompt's first characters that are fixed (system prompt, passages):
                their KV state is saved once and reused, so a call reads only what follows.

        Raises:
            LlmBusyError: the model stayed busy for the whole wait, or a background call gave way.
            LlmTimeoutError: generation ran past the budget.
            ModelError: llama.cpp failed, or the prompt does not fit the context.
        """
        budget = self.config.budget_s if budget_s is None else budget_s
        started = time.monotonic()
        with self._hold(budget if wait_s is None else wait_s, background=background):
            deadline = (started if wait_s is None else time.monotonic()) + budget
            text, confidence, tokens = self._worker.run(
                lambda: self._write(prompt, max_tokens, deadline, stop=stop, background=background, prefix=prefix_chars)
            )
        return Generation(text, confidence, tokens, time.monotonic() - started)

    def _write(
        self, prompt: str, max_tokens: int, deadline: float, *, stop: Sequence[str], background: bool, prefix: int
    ) -> tuple[str, float, int]:
        """Greedy generation on the worker thread: text, mean token probability, tokens (see :meth:`generate`).

        Drafts from the prompt are checked in batches (:mod:`edge_models.llm_lookup`, ``LlmConfig.draft``).
        """
        import numpy as np

        def before_step() -> None:
            if time.monotonic() > deadline:
                raise LlmTimeoutError("LLM call ran past its budget")
            self._give_way(background, deadline)

        try:
            tokens, prefix = self._prefixes.split(prompt, prefix)
            room = min(max_tokens, self.config.context - len(tokens) - 1)
            if room <= 0:
                raise ModelError(f"prompt of {len(tokens)} tokens leaves no room in {self.config.context}")
            self._prefixes.start(tokens, prefix, deadline, lambda: self._give_way(background, deadline))
            stops = [marker.encode() for marker in stop if marker]
            out = write(
                self._llm,
                tokens,
                self._last_logits(),
                room,
                stops=stops,
                before_step=before_step,
                draft=self.config.draft,
            )
        except (ValueError, RuntimeError) as err:
            raise ModelError(f"llama.cpp failed: {err}") from err
        self.batches += out.batches
        confidence = float(np.exp(out.logprob / out.steps)) if out.steps else 0.0
        return out.text.decode("utf-8", errors="ignore").strip(), confidence, out.tokens

    def compose(
        self,
        question: str,
        passages: Sequence[str],
        lang: str,
        *,
        budget_s: float | None = None,
        max_tokens: int = 60,
    ) -> Generation:
        """A short answer to ``question`` written from ``passages`` (unchecked: see :mod:`edge_models.grounding`).

        Raises:
            LlmBusyError, LlmTimeoutError, ModelError: as :meth:`generate`.
        """
        system, user = compose_prompt(question, passages, lang)
        prompt = self.prompt(system, user)
        fixed = prompt.find("Question (quoted): ") + len("Question (quoted): ")  # the template's, not one quoted
        try:
            return self.generate(prompt, max_tokens=max_tokens, budget_s=budget_s, stop=("\n\n",), prefix_chars=fixed)
        except LlmTimeoutError:
            self._passages.request(prompt, fixed)  # read when the model is free: the next such call fits
            raise

    def _read_prefix(self, prompt: str, prefix_chars: int, budget_s: float = 600.0) -> None:
        """Read the prompt's fixed start into the prefix cache as a background call (see PrefixReader)."""
        deadline = time.monotonic() + budget_s
        with self._hold(budget_s, background=True):
            give_way = functools.partial(self._give_way, True, deadline)
            self._worker.run(lambda: self._prefixes.read(prompt, prefix_chars, deadline, give_way))

    def summarize(
        self,
        lines: Sequence[str],
        *,
        lang: str = "en",
        budget_s: float | None = None,
        max_tokens: int = 90,
        wait_s: float | None = None,
    ) -> Generation:
        """One paragraph in ``lang`` for the staff member who takes a hand-off (``lines`` already masked; unchecked).

        A background call: it gives the model up to a customer's call that waits for it.

        Raises:
            LlmBusyError, LlmTimeoutError, ModelError: as :meth:`generate`.
        """
        system, user = summary_prompt(lines, lang)
        prompt = self.prompt(system, user)
        return self.generate(prompt, max_tokens=max_tokens, budget_s=budget_s, wait_s=wait_s, background=True)
