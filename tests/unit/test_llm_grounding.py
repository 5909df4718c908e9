"""Checks on LLM output that do not need the model: grammar text and grounding."""

from __future__ import annotations

import pytest

from edge_models.llm import grounded

PASSAGES = ["Transfers within our bank are free. International transfers cost 50 yuan each.", "Demo Gold Saver"]


@pytest.mark.parametrize(
    ("answer", "ok"),
    [
        ("Transfers within our bank are free.", True),
        ("International transfers cost 50 yuan.", True),
        ("International transfers cost 30 yuan.", False),
        ("You earn 3.5% with us.", False),
        ("Try our Demo Gold Saver product.", True),
        ("Try our Platinum Wealth Plus product.", False),
        ("跨行转账收费「白金理财」", False),
    ],
    ids=["plain", "quoted-number", "made-up-number", "made-up-rate", "known-product", "made-up-product", "zh-name"],
)
def test_grounding(answer: str, ok: bool) -> None:
    assert grounded(answer, PASSAGES) is ok
