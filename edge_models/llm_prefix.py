"""Prompt prefixes read once: the KV state after a prompt's fixed start, saved and reused.

A label-choice prompt starts with the system prompt and the label menu, a
composed answer with its FAQ passages; only the customer's words change.
The state after the fixed start is saved (a bounded LRU) and restored, so a
call reads only what follows it. Prompts are read in chunks sized by the
speed measured on the call (:func:`edge_models.cpu.prompt_chunk`), so a
budget stops a late call between two chunks.
"""

from __future__ import annotations

import ctypes
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from edge_models.cpu import prompt_chunk
from edge_models.errors import ModelError
from edge_models.llm_types import LlmTimeoutError

__all__ = ["PrefixCache"]


class PrefixCache:
    """Saved KV states of a llama.cpp context after prompt prefixes, least recently used evicted.

    Args:
        llm: The ``llama_cpp.Llama`` whose context is saved and restored.
        size: States kept.

    Attributes:
        hits: Calls that reused a saved prefix (read by tests and benchmarks).
    """

    def __init__(self, llm: Any, size: int) -> None:
        self._llm = llm
        self._size = size
        self._saved: OrderedDict[tuple[int, ...], tuple[bytes, Any]] = OrderedDict()
        self._pinned: list[tuple[int, ...]] = []  # never evicted (the label menus in use, newest last)
        self.hits = 0

    def __len__(self) -> int:
        return len(self._saved)

    def clear(self) -> None:
        """Forget every saved state."""
        self._saved.clear()

    def pin(self, key: tuple[int, ...], keep: int = 2) -> None:
        """Never evict the state after ``key`` (once saved); only the newest ``keep`` pins hold."""
        if key in self._pinned:
            self._pinned.remove(key)
        self._pinned = [*self._pinned, key][-keep:]

    def split(self, prompt: str, prefix_chars: int) -> tuple[list[int], int]:
        """The prompt's tokens and how many of them are its fixed prefix (the first ``prefix_chars`` characters).

        The prefix is tokenized alone and only its tokens that the whole prompt shares count, so
        a token merged across the seam is evaluated with the customer's words. At least one
        token is always left after the prefix.
        """
        llm = self._llm
        tokens: list[int] = llm.tokenize(prompt.encode(), add_bos=True, special=True)
        if prefix_chars <= 0:
            return tokens, 0
        head: list[int] = llm.tokenize(prompt[:prefix_chars].encode(), add_bos=True, special=True)
        shared = 0
        for a, b in zip(head, tokens, strict=False):
            if a != b:
                break
            shared += 1
        return tokens, min(max(shared - 1, 0), len(tokens) - 1)

    def start(self, tokens: list[int], prefix: int, deadline: float, give_way: Callable[[], None]) -> None:
        """Evaluate ``tokens`` from scratch, reusing the saved KV state of their first ``prefix`` tokens.

        A prefix seen for the first time is evaluated and its state saved. ``give_way`` runs
        before each chunk (it may raise to stop the call).

        Raises:
            LlmTimeoutError: the deadline passed while reading the prompt.
            ModelError: a saved state could not be restored.
        """
        import llama_cpp

        llm = self._llm
        key = tuple(tokens[:prefix])
        saved = self._saved.get(key) if prefix else None
        if saved is not None:
            data, ids = saved
            self._saved.move_to_end(key)
            llm.reset()
            buffer = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
            if llama_cpp.llama_state_set_data(llm._ctx.ctx, buffer, len(data)) != len(data):
                raise ModelError("llama.cpp could not restore a saved prompt prefix")
            llm.input_ids[:prefix] = ids
            llm.n_tokens = prefix
            self.hits += 1
            done = prefix
        else:
            llm.reset()
            done = 0
        rate: float | None = None  # seconds per prompt token measured on this call
        while done < len(tokens):  # in chunks, so the budget can stop it
            if time.monotonic() > deadline:
                raise LlmTimeoutError("LLM call ran past its budget (reading the prompt)")
            give_way()
            size = prompt_chunk(len(tokens) - done, rate, deadline - time.monotonic())
            if size == 0:
                raise LlmTimeoutError("LLM call cut: at the speed the CPU gives it, the prompt ends past the budget")
            end = done + size
            if saved is None and done < prefix < end:
                end = prefix  # stop once at the prefix's end, to save its state
            started = time.monotonic()
            llm.eval(tokens[done:end])
            rate = (time.monotonic() - started) / (end - done)
            done = end
            if saved is None and prefix and done == prefix:
                self._save(key)

    def read(self, prompt: str, prefix_chars: int, deadline: float, give_way: Callable[[], None]) -> None:
        """Evaluate the prompt's fixed start alone and save its state, for a later call (a prefix read ahead).

        Raises:
            LlmTimeoutError, ModelError: as :meth:`start`; ModelError also when llama.cpp fails.
        """
        tokens, prefix = self.split(prompt, prefix_chars)
        if tuple(tokens[:prefix]) in self._saved:
            return  # read already (its call was cut while writing): restoring it would only hold the model
        try:
            self.start(tokens[:prefix], prefix, deadline, give_way)
        except (ValueError, RuntimeError) as err:
            raise ModelError(f"llama.cpp failed: {err}") from err

    def _save(self, key: tuple[int, ...]) -> None:
        """Keep the KV state after ``key`` (the tokens evaluated so far), evicting the least recently used."""
        import llama_cpp

        llm = self._llm
        size = int(llama_cpp.llama_state_get_size(llm._ctx.ctx))
        buffer = (ctypes.c_uint8 * size)()
        written = int(llama_cpp.llama_state_get_data(llm._ctx.ctx, buffer, size))
        self._saved[key] = (bytes(buffer[:written]), llm.input_ids[: len(key)].copy())
        for old in [k for k in self._saved if k not in self._pinned][: max(0, len(self._saved) - self._size)]:
            del self._saved[old]  # least recently used first; pinned states stay
