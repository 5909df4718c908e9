"""The understanding cascade: safety rules, intent model, keyword rules, fallback."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from edge_models.normalize import Normalized
from kiosk.dialogue.decision import Candidate, Reason, Stage
from kiosk.dialogue.faq import FaqHit, FaqMatcher
from kiosk.dialogue.ports import ExplainingClassifier, IntentClassifier, LlmClassifier, VersionedPrompt
from kiosk.dialogue.reasons import faq_reason, llm_reason, model_reason, rule_reason, safety_reason
from kiosk.dialogue.rules import RuleMatcher
from kiosk.dialogue.safety import SafetyGuard, SafetyHit
from kiosk.policy import Policy

_LOG = logging.getLogger(__name__)


@runtime_checkable
class PerTextThresholds(Protocol):
    """An intent model whose decision threshold depends on the text (per script, per head)."""

    def threshold_for(self, text: str) -> float:
        """The threshold for normalised ``text``."""
        ...


@dataclass(frozen=True, slots=True)
class Understanding:
    """What the cascade made of an utterance.

    Attributes:
        intent: The decided label, or the best guess when ``stage`` is ``fallback``.
        stage: The stage that decided.
        confidence: How sure that stage was, in [0, 1].
        candidates: The model's top labels with probabilities.
        safety: The safety rule that fired, if any.
        faq: The FAQ passage that decided (rules stage), if any.
        reason: Why the stage decided so (issue 14); None for verdicts made outside the cascade.
    """

    intent: str
    stage: Stage
    confidence: float
    candidates: tuple[Candidate, ...] = ()
    safety: SafetyHit | None = None
    faq: FaqHit | None = None
    reason: Reason | None = None

    @property
    def decided(self) -> bool:
        """True unless every stage was unsure."""
        return self.stage != "fallback"


class Understander:
    """Runs the cascade of ARCHITECTURE.md, steps 2 to 5.

    Args:
        policy: Safety patterns, keyword rules and thresholds.
        classifier: The intent model, or None to run on rules alone.
        faq: Retrieval over the policy's FAQ passages.
        llm: The LLM stage, or None.
    """

    def __init__(
        self,
        policy: Policy,
        classifier: IntentClassifier | None,
        faq: FaqMatcher,
        llm: LlmClassifier | None = None,
    ) -> None:
        self._safety = SafetyGuard(policy.safety)
        self._faq = faq
        self._llm = llm
        self._thresholds = policy.thresholds
        self._llm_candidates = policy.thresholds.llm_candidates
        self._rules = RuleMatcher(policy.rules)
        self._classifier = classifier
        thresholds = policy.thresholds
        model_threshold = thresholds.model
        # The bundle's own thresholds (per script) apply unless the policy or staff fix one for all text.
        self._per_text = classifier if model_threshold is None and isinstance(classifier, PerTextThresholds) else None
        if model_threshold is None:
            model_threshold = classifier.threshold if classifier is not None else 1.0
        self.model_threshold = model_threshold
        self._rules_confidence = thresholds.rules_confidence
        self._faq_answer = thresholds.faq_answer
        self._rules_agree = thresholds.rules_agree_top

    @property
    def llm(self) -> LlmClassifier | None:
        """The LLM stage, if loaded."""
        return self._llm

    @property
    def llm_enabled(self) -> bool:
        """True when an LLM is loaded and the policy lets it decide."""
        return self._llm is not None and min(self.llm_threshold_for("中"), self.llm_threshold_for("a")) < 1.0

    @property
    def has_model(self) -> bool:
        """True when an intent model is loaded."""
        return self._classifier is not None

    def llm_threshold_for(self, text: str) -> float:
        """The LLM stage's threshold for ``text`` (per script when the policy says so; 1.0: off)."""
        return self._thresholds.llm_for(text)

    def threshold_for(self, text: str) -> float:
        """The model stage's threshold for normalised ``text``."""
        if self._per_text is not None:
            try:
                return self._per_text.threshold_for(text)
            except Exception:  # noqa: BLE001 - a failing stage is skipped, the turn goes on
                _LOG.exception("intent model threshold failed; using the bundle's single threshold")
        return self.model_threshold

    def _predict(self, text: str) -> tuple[tuple[Candidate, ...], float]:
        """Top contract labels, and the probability of an internal "no intent" label."""
        if self._classifier is None or not text:
            return (), 0.0
        try:
            ranked = self._classifier.predict(text)
        except Exception:  # noqa: BLE001 - a failing stage is skipped, the turn goes on
            _LOG.exception("intent model failed; continuing with rules")
            return (), 0.0
        no_intent = sum(float(p) for label, p in ranked if label.startswith("_"))
        candidates = tuple(
            Candidate(intent=label, confidence=round(float(p), 4)) for label, p in ranked if not label.startswith("_")
        )
        return candidates[:5], no_intent

    def _ask_llm(self, norm: Normalized, candidates: tuple[Candidate, ...]) -> Understanding | None:
        threshold = self.llm_threshold_for(norm.text)
        if self._llm is None or threshold >= 1.0 or not candidates:
            return None
        if (norm.lang or "zh") not in self._llm.languages:
            return None
        labels = [c.intent for c in candidates[: self._llm_candidates]]
        if "out_of_scope" not in labels:
            labels.append("out_of_scope")
        answer = self._llm.classify(norm.text, labels)
        if answer is None or answer[1] < threshold:
            return None
        version = self._llm.prompt_version if isinstance(self._llm, VersionedPrompt) else None
        reason = llm_reason(answer[0], answer[1], version, labels)
        return Understanding(answer[0], "llm", answer[1], candidates, reason=reason)

    def _explained(self, text: str, intent: str, stage: Stage, confidence: float) -> Reason:
        """The model's reason for ``intent``: its strongest n-grams and nearest examples."""
        explanation = None
        if isinstance(self._classifier, ExplainingClassifier) and text:
            try:
                explanation = self._classifier.explain(text, intent)
            except Exception:  # noqa: BLE001 - an explanation never costs the turn
                _LOG.exception("intent model explanation failed")
        return model_reason(stage, intent, confidence, explanation)

    def understand(self, norm: Normalized) -> Understanding:
        """Decide the intent of a normalised utterance; the result says why (``reason``)."""
        hit = self._safety.check(norm)
        candidates, no_intent = self._predict(norm.text)
        if hit is not None:
            why = safety_reason(hit.kind, hit.pattern)
            return Understanding(hit.intent, "safety", 1.0, candidates, hit, reason=why)
        threshold = self.threshold_for(norm.text) if candidates else self.model_threshold
        if candidates and candidates[0].confidence >= threshold:
            top = candidates[0]
            why = self._explained(norm.text, top.intent, "model", top.confidence)
            return Understanding(top.intent, "model", top.confidence, candidates, reason=why)
        if no_intent >= threshold:
            # A banking question the kiosk has no intent for: keywords would only mislead.
            top = candidates[0] if candidates else Candidate(intent="out_of_scope", confidence=0.0)
            why = Reason(
                stage="fallback",
                text=f"the intent model says this is a banking question the kiosk has no intent for ({no_intent:.2f})",
            )
            return Understanding(top.intent, "fallback", top.confidence, candidates, reason=why)
        guess = self._ask_llm(norm, candidates)
        if guess is not None:
            return guess
        # An unsure "no intent" that still outranks every intent: keywords would only mislead here too
        # (on the dev split this keeps keyword rules off other banking questions; the FAQ still answers).
        other_on_top = bool(candidates) and no_intent > candidates[0].confidence
        matches = [] if other_on_top else self._rules.match(norm.text)
        if candidates and self._rules_agree:
            # With a model loaded, a keyword decides only among the model's own top choices.
            allowed = {c.intent for c in candidates[: self._rules_agree]}
            matches = [(intent, hits) for intent, hits in matches if intent in allowed]
        if matches:
            best_hits = matches[0][1]
            tied = [intent for intent, hits in matches if hits == best_hits]
            prob = {c.intent: c.confidence for c in candidates}
            intent = max(tied, key=lambda label: prob.get(label, 0.0))
            confidence = max(self._rules_confidence, prob.get(intent, 0.0))
            why = rule_reason(intent, self._rules.patterns_for(intent, norm.text), confidence)
            return Understanding(intent, "rules", confidence, candidates, reason=why)
        passage = self._faq.best(norm.text)
        if passage is not None and passage.score >= self._faq_answer:
            why = faq_reason(passage.entry.intent, passage.entry.id, passage.score)
            return Understanding(passage.entry.intent, "rules", passage.score, candidates, faq=passage, reason=why)
        if candidates:
            top = candidates[0]
            why = self._explained(norm.text, top.intent, "fallback", top.confidence)
            return Understanding(top.intent, "fallback", top.confidence, candidates, reason=why)
        why = Reason(stage="fallback", text="no stage recognised anything in the utterance")
        return Understanding("out_of_scope", "fallback", 0.0, candidates, reason=why)
