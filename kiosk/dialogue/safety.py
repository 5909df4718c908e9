"""Safety rules, checked before any model on every utterance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from edge_models.normalize import Normalized
from kiosk.dialogue.patterns import PatternSet
from kiosk.policy import Safety

SafetyKind = Literal["fraud", "emergency", "human", "injection"]


@dataclass(frozen=True, slots=True)
class SafetyHit:
    """A safety rule fired."""

    kind: SafetyKind
    pattern: str | None = None
    """The policy pattern that fired (None when not recorded)."""

    @property
    def intent(self) -> str:
        """The intent label this kind of hit stands for."""
        return {"fraud": "fraud_report", "emergency": "human_agent", "human": "human_agent"}.get(
            self.kind, "out_of_scope"
        )


class SafetyGuard:
    """Fraud patterns, emergencies, requests for a person, injected instructions.

    Order matters: a scam described together with a request for a person is
    a fraud alert; an injection attempt that mentions a transfer is declined.
    """

    def __init__(self, safety: Safety) -> None:
        self._checks: tuple[tuple[SafetyKind, PatternSet], ...] = (
            ("fraud", PatternSet(safety.fraud)),
            ("injection", PatternSet(safety.injection)),
            ("emergency", PatternSet(safety.emergency)),
            ("human", PatternSet(safety.human)),
        )

    def check(self, norm: Normalized) -> SafetyHit | None:
        """The first rule that fires on the utterance, or None."""
        for kind, patterns in self._checks:
            found = patterns.matching(norm.text, norm.light)
            if found:
                return SafetyHit(kind, found[0])
        return None
