"""Greedy generation that drafts its next tokens from the prompt and checks them in one batch (prompt lookup).

A composed answer restates its FAQ passage, and a hand-off summary the
conversation's lines: most of what the model writes is a run of tokens that
is already in its prompt. On a CPU, evaluating one token reads all the
weights (memory bound); evaluating a few together costs little more. So after
each chosen token the writer looks for the latest earlier place in the
prompt or its own text where its last ``NGRAM`` tokens occurred (fewer, down
to ``MIN_NGRAM``, when the longer tail is new), drafts the tokens that
followed there (at most ``draft``), and evaluates the chosen token and the
draft in one batch, with the logits after each. The draft's tokens are kept
while each is the model's own greedy choice after the ones before; the first
that is not, and all after it, are dropped (their KV entries are overwritten
by the next evaluation). The text is the greedy text, only sooner: every kept
token is the argmax of the model's logits at its place, and its probability
counts in the confidence as before. (A batch and a single-token evaluation
may differ in the last bits of a logit; a near tie can then fall the other
way, as with another thread count.)

Without a draft (``draft=0``, or no earlier occurrence) each step evaluates
the chosen token alone, as plain greedy decoding does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

DRAFT = 4  # tokens drafted per step at most (3-6 measured alike; each costs about 0.4x a step of one)
NGRAM = 3  # the longest tail looked up in the earlier tokens
MIN_NGRAM = 2  # a tail of one token (a common character, "the") drafts mostly wrong tokens


@dataclass(slots=True)
class Written:
    """What :func:`write` produced: the bytes, the summed log-probability of the chosen tokens and their count.

    ``steps`` counts the end-of-generation token too when the model chose it (as the
    confidence always has); ``batches`` is how many evaluations the writing took.
    """

    text: bytes = b""
    logprob: float = 0.0
    steps: int = 0
    tokens: int = 0
    batches: int = 0


def lookup(history: Sequence[int], limit: int, *, longest: int = NGRAM, shortest: int = MIN_NGRAM) -> list[int]:
    """The tokens (at most ``limit``) that followed the latest earlier occurrence of ``history``'s last n tokens.

    n goes from ``longest`` down to ``shortest``; empty when no such tail occurred before.
    """
    if limit <= 0:
        return []
    for n in range(min(longest, len(history) - 1), shortest - 1, -1):
        tail = list(history[-n:])
        for start in range(len(history) - n - 1, -1, -1):
            if history[start] == tail[0] and list(history[start : start + n]) == tail:
                return list(history[start + n : start + n + limit])
    return []


def evaluate(llm: Any, tokens: Sequence[int]) -> Any:
    """Evaluate ``tokens`` after llama.cpp's context, with the logits after each (one row per token).

    Raises:
        RuntimeError: llama.cpp failed.
    """
    n_past = int(llm.n_tokens)
    llm._ctx.kv_cache_seq_rm(-1, n_past, -1)  # a dropped draft's entries
    llm._batch.set_batch(batch=list(tokens), n_past=n_past, logits_all=True)
    llm._ctx.decode(llm._batch)
    llm.input_ids[n_past : n_past + len(tokens)] = tokens
    llm.n_tokens = n_past + len(tokens)
    return logits_of(llm, len(tokens))


def logits_of(llm: Any, rows: int = 1) -> Any:
    """The logits of llama.cpp's last evaluation, one row per token it kept logits for (a float64 copy)."""
    import llama_cpp

    pointer = llama_cpp.llama_get_logits(llm._ctx.ctx)
    return np.ctypeslib.as_array(pointer, shape=(rows, llm.n_vocab())).astype(np.float64)


def write(
    llm: Any,
    prompt: Sequence[int],
    logits: Any,
    room: int,
    *,
    stops: Sequence[bytes],
    before_step: Callable[[], None],
    draft: int = DRAFT,
) -> Written:
    """Greedy tokens after ``prompt`` (already evaluated; ``logits`` after its last token), at most ``room``.

    Ends at the end-of-generation token or the first of ``stops`` (cut off with what follows).
    ``before_step`` runs before each evaluation step (it raises to stop: a deadline, a customer waiting).

    Raises:
        RuntimeError, ValueError: llama.cpp failed.
    """
    import llama_cpp

    vocab = llm._model.vocab  # the end-of-generation test needs the vocabulary
    out = Written()
    chosen: list[int] = []

    def take(token: int, row: Any) -> bool:
        """Count ``token`` chosen after ``row``; False when the writing ends with it."""
        out.logprob -= float(np.log(np.exp(row - row[token]).sum()))
        out.steps += 1
        if llama_cpp.llama_vocab_is_eog(vocab, token):
            return False
        chosen.append(token)
        out.text += llm.detokenize([token])
        cuts = [out.text.find(marker) for marker in stops if marker in out.text]
        if cuts:
            out.text = out.text[: min(cuts)]
            return False
        return len(chosen) < room

    while True:
        before_step()
        token = int(np.argmax(logits))
        if not take(token, logits):
            break
        guesses = lookup([*prompt, *chosen], min(draft, room - len(chosen))) if draft > 0 else []
        rows = evaluate(llm, [token, *guesses])
        out.batches += 1
        kept = 0
        going = True
        for guess, row in zip(guesses, rows, strict=False):
            if int(np.argmax(row)) != guess:
                break
            kept += 1
            going = take(guess, row)
            if not going:
                break
        if not going:
            break
        llm.n_tokens -= len(guesses) - kept  # the dropped guesses: the next evaluation overwrites them
        logits = rows[kept]
    out.tokens = len(chosen)
    return out
