"""Why this answer (issue 14): the reason each stage gives for its decision.

Every stage of the cascade fills a :class:`Reason`: the n-gram model its
strongest features (exact contributions to the logit) and, for English, the
nearest training examples of the MiniLM head; keyword rules the pattern
that matched; the FAQ its passage; the LLM its probability and prompt
version; safety rules the rule; a hand-off what triggered it. Pure
functions of what the stages already computed.
"""

from __future__ import annotations

from edge_models.intent_explain import ModelExplanation
from kiosk.dialogue.decision import Evidence, Handoff, Reason

_TRIGGERS = {
    "requested": "the customer asked for a person",
    "repeated_misses": "the kiosk did not understand several times in a row",
    "complaint": "a complaint is handed to staff",
    "fraud_pattern": "the words match a fraud pattern",
    "emergency": "the words match an emergency",
}


def model_evidence(explanation: ModelExplanation) -> tuple[Evidence, ...]:
    """The model's features and nearest examples as evidence."""
    features = tuple(
        Evidence(kind="feature", label=f.feature, value=round(f.weight, 4), intent=explanation.intent)
        for f in explanation.features
    )
    examples = tuple(
        Evidence(kind="example", label=e.text, value=e.similarity, intent=e.intent) for e in explanation.examples
    )
    return features + examples


def model_reason(stage: str, intent: str, confidence: float, explanation: ModelExplanation | None) -> Reason:
    """The intent model decided (``stage='model'``) or gave the best guess (``'fallback'``)."""
    if stage == "model":
        text = f"intent model: {intent} at {confidence:.2f}"
    else:
        text = f"no stage was sure enough; best guess {intent} at {confidence:.2f}"
    if explanation is None:
        return Reason(stage=stage, text=text)
    if explanation.features:
        text += "; strongest n-grams " + ", ".join(f"'{f.feature}' {f.weight:+.2f}" for f in explanation.features[:3])
    if explanation.examples:
        near = explanation.examples[0]
        text += f"; nearest example '{near.text}' ({near.intent}, cos {near.similarity:.2f})"
    return Reason(stage=stage, text=text, evidence=model_evidence(explanation))


def safety_reason(kind: str, pattern: str | None) -> Reason:
    """A safety rule fired before any model."""
    text = f"safety rule '{kind}'" + (f" matched /{pattern}/" if pattern else " matched")
    return Reason(stage="safety", text=text, evidence=(Evidence(kind="safety", label=pattern or kind, intent=kind),))


def rule_reason(intent: str, patterns: list[str], confidence: float) -> Reason:
    """A keyword rule of the policy decided."""
    shown = ", ".join(f"/{p}/" for p in patterns[:3]) or "(none recorded)"
    return Reason(
        stage="rules",
        text=f"keyword rule for {intent}: {shown} (confidence {confidence:.2f})",
        evidence=tuple(Evidence(kind="rule", label=p, intent=intent) for p in patterns),
    )


def faq_reason(intent: str, faq_id: str, score: float) -> Reason:
    """A FAQ passage matched the question well enough to answer it."""
    return Reason(
        stage="rules",
        text=f"FAQ passage '{faq_id}' matched ({intent}, score {score:.2f})",
        evidence=(Evidence(kind="faq", label=faq_id, value=round(score, 4), intent=intent),),
    )


def llm_reason(intent: str, probability: float, prompt_version: str | None, labels: list[str]) -> Reason:
    """The LLM picked among the model's candidates."""
    return Reason(
        stage="llm",
        text=f"LLM chose {intent} at {probability:.2f} among {', '.join(labels)}"
        + (f" (prompt {prompt_version})" if prompt_version else ""),
        evidence=(Evidence(kind="llm", label=", ".join(labels), value=round(probability, 4), intent=intent),),
        prompt_version=prompt_version,
    )


def plain_reason(stage: str, intent: str) -> Reason:
    """Stages with no model behind them: a flow's slot, a tapped button, empty input."""
    if stage == "flow":
        return Reason(
            stage=stage,
            text=f"the customer gave the detail the {intent} flow asked for",
            evidence=(Evidence(kind="flow", label=intent, intent=intent),),
        )
    if stage == "button":
        return Reason(
            stage=stage,
            text=f"the customer tapped a button for {intent}",
            evidence=(Evidence(kind="button", label=intent, intent=intent),),
        )
    return Reason(stage=stage, text=f"no stage decided; {intent}")


def with_handoff(reason: Reason, handoff: Handoff | None) -> Reason:
    """The reason, with what triggered the hand-off or risk alert of this turn, if any."""
    if handoff is None:
        return reason
    why = _TRIGGERS.get(handoff.reason, handoff.reason)
    kind = "risk alert" if handoff.kind == "risk" else "hand-off"
    return reason.model_copy(
        update={
            "text": f"{reason.text}; {kind}: {why}",
            "trigger": handoff.reason,
            "evidence": (*reason.evidence, Evidence(kind="trigger", label=handoff.reason, intent=handoff.kind)),
        }
    )
