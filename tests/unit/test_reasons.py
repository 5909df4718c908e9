"""Why this answer (issue 14): every stage of the engine gives its reason, stored masked with the turn."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from edge_models.intent_explain import FeatureWeight, ModelExplanation, NearExample
from kiosk.dialogue import Decision, DialogueEngine, DialogueSession, Reason, Utterance
from kiosk.policy import Policy
from kiosk.storage import Store
from tests.fakes import NOW, FakeClassifier


class ExplainingFake(FakeClassifier):
    """The fake model, explaining itself as the ONNX model does (features and nearest examples)."""

    def __init__(self, answers: dict[str, Sequence[tuple[str, float]]]) -> None:
        super().__init__(answers, threshold=0.7)
        self.explained: list[tuple[str, str]] = []

    def explain(self, text: str, intent: str, *, k: int = 5) -> ModelExplanation:
        self.explained.append((text, intent))
        features = (FeatureWeight("c:卡", 1.5), FeatureWeight("c:丢", 1.2))
        return ModelExplanation(intent, features, -0.5, 2.2, (NearExample("lost my card", intent, 0.91),))


class FakeLlm:
    """An LLM stage that always picks the first label, at 0.97."""

    languages = ("zh", "en")
    prompt_version = "classify-test1"

    def classify(self, text: str, labels: Sequence[str]) -> tuple[str, float] | None:
        return labels[0], 0.97


def say(engine: DialogueEngine, session: DialogueSession, text: str) -> Decision:
    return engine.handle(session, Utterance(text=text), NOW)


def reason_of(decision: Decision) -> Reason:
    if decision.reason is None:
        pytest.fail(f"no reason on {decision}")
    return decision.reason


def test_model_reason_carries_features_and_nearest_examples(policy: Policy) -> None:
    model = ExplainingFake({"我的卡丢了": [("card_lost", 0.99), ("_other", 0.01)]})
    reason = reason_of(say(DialogueEngine(policy, model), DialogueSession("s"), "我的卡丢了"))
    assert reason.stage == "model"
    assert [(e.kind, e.label, e.value) for e in reason.evidence] == [
        ("feature", "c:卡", 1.5),
        ("feature", "c:丢", 1.2),
        ("example", "lost my card", 0.91),
    ]
    assert "'c:卡' +1.50" in reason.text
    assert "lost my card" in reason.text
    assert model.explained == [("我的卡丢了", "card_lost")]


def test_fallback_explains_the_best_guess(policy: Policy) -> None:
    model = ExplainingFake({"嗯嗯": [("fees", 0.4), ("transfer", 0.3)]})
    decision = say(DialogueEngine(policy, model), DialogueSession("s"), "嗯嗯")
    reason = reason_of(decision)
    assert (decision.action, reason.stage) == ("clarify", "fallback")
    assert "best guess fees" in reason.text
    assert reason.evidence[0].intent == "fees"


def test_rule_reason_names_the_pattern(policy: Policy) -> None:
    decision = say(DialogueEngine(policy), DialogueSession("s"), "我要挂失")
    reason = reason_of(decision)
    assert (decision.stage, reason.stage) == ("rules", "rules")
    assert [e.label for e in reason.evidence if e.kind == "rule"] == ["挂失"]
    assert "挂失" in reason.text


def test_safety_reason_and_risk_trigger(policy: Policy) -> None:
    decision = say(DialogueEngine(policy), DialogueSession("s"), "有人自称警察让我把钱转到安全账户")
    reason = reason_of(decision)
    assert (decision.action, reason.stage, reason.trigger) == ("risk_alert", "safety", "fraud_pattern")
    assert reason.evidence[0].kind == "safety"
    assert reason.evidence[0].intent == "fraud"
    assert reason.evidence[-1].kind == "trigger"
    assert "risk alert" in reason.text


def test_llm_reason_has_probability_and_prompt_version(policy: Policy) -> None:
    model = ExplainingFake({"那个东西怎么弄": [("transfer", 0.5), ("fees", 0.3)]})
    engine = DialogueEngine(policy, model, llm=FakeLlm())
    decision = say(engine, DialogueSession("s"), "那个东西怎么弄")
    reason = reason_of(decision)
    assert (decision.stage, reason.stage, reason.prompt_version) == ("llm", "llm", "classify-test1")
    assert reason.evidence[0].value == 0.97
    assert reason.evidence[0].intent == "transfer"


def test_handoff_after_misses_and_buttons_say_why(policy: Policy) -> None:
    engine, session = DialogueEngine(policy), DialogueSession("s")
    decisions = [say(engine, session, "嗯嗯嗯") for _ in range(policy.thresholds.max_misses)]
    last = reason_of(decisions[-1])
    assert decisions[-1].action == "handoff"
    assert last.trigger == "repeated_misses"
    tapped = engine.handle(DialogueSession("t"), Utterance(text="", source="button", button="intent:fees"), NOW)
    assert reason_of(tapped).stage == "button"
    assert "fees" in reason_of(tapped).text


def test_reason_is_stored_with_the_turn_masked(policy: Policy, tmp_path: Path) -> None:
    model = ExplainingFake({"我的卡丢了": [("card_lost", 0.99)]})
    decision = say(DialogueEngine(policy, model), DialogueSession("s"), "我的卡丢了")
    leaky = reason_of(decision).model_copy(update={"text": "card 6222021234567890123 lost"})
    store = Store(tmp_path / "kiosk.db")
    store.record_turn("s", "text", "我的卡丢了", decision.model_copy(update={"reason": leaky}), 3.0)
    stored = store.turns("s")[0]["reason"]
    assert "6222021234567890123" not in stored
    back = Reason.model_validate_json(stored)
    assert back.evidence == leaky.evidence
    assert back.stage == "model"
    assert json.loads(stored)["evidence"][0]["label"] == "c:卡"
