"""Fakes and constants shared by the tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Inside the validity of the demo rate tables (rates.yaml).
NOW = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)


class FakeClassifier:
    """An intent model that answers from a table and records what it was asked."""

    def __init__(self, answers: dict[str, Sequence[tuple[str, float]]] | None = None, threshold: float = 0.7) -> None:
        self.answers = answers or {}
        self._threshold = threshold
        self.calls: list[str] = []
        self.fail = False

    @property
    def threshold(self) -> float:
        return self._threshold

    def predict(self, text: str) -> Sequence[tuple[str, float]]:
        self.calls.append(text)
        if self.fail:
            raise RuntimeError("model crashed")
        return self.answers.get(text, [("out_of_scope", 0.3), ("fees", 0.2), ("transfer", 0.1)])
