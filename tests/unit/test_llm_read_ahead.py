"""The background reader of prompt prefixes: each prefix once, a bounded queue, failures counted and forgotten."""

from __future__ import annotations

import threading

from edge_models.errors import ModelError
from edge_models.llm_read_ahead import PrefixReader


def test_each_prefix_is_queued_once_and_the_queue_is_bounded() -> None:
    started, release = threading.Event(), threading.Event()
    read: list[str] = []

    def slow_read(prompt: str, chars: int) -> None:
        started.set()
        release.wait(10)
        read.append(prompt[:chars])

    reader = PrefixReader(slow_read, most=2)
    assert reader.request("passage A | question 1", 9)
    assert started.wait(10)  # A is being read
    assert not reader.request("passage A | question 2", 9)  # the same fixed start: already on its way
    assert reader.request("passage B | question 1", 9)
    assert not reader.request("passage C | question 1", 9)  # two pending: full
    release.set()
    assert reader.join(10)
    assert read == ["passage A", "passage B"]
    assert (reader.done, reader.failed) == (2, 0)
    assert reader.request("passage A | question 3", 9)  # read: a later cut may ask again (the cache may evict it)
    assert reader.join(10)


def test_a_failed_read_is_counted_and_can_be_asked_again() -> None:
    calls: list[str] = []

    def failing(prompt: str, chars: int) -> None:
        calls.append(prompt[:chars])
        if len(calls) == 1:
            raise ModelError("gave way to a customer's call")

    reader = PrefixReader(failing)
    assert reader.request("passage A | q", 9)
    assert reader.join(10)
    assert (reader.done, reader.failed) == (0, 1)
    assert reader.request("passage A | q", 9)
    assert reader.join(10)
    assert (reader.done, reader.failed) == (1, 1)
    assert calls == ["passage A", "passage A"]
