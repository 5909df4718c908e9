"""The real int8 ONNX intent model, loaded with onnxruntime from its bundle."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from bundles import write_manifest
from edge_models import ModelCorruptError, ModelHealthError, ModelMissingError
from edge_models.intent_onnx import OTHER_LABEL, OnnxIntentClassifier
from edge_models.normalize import Normalizer
from kiosk.assembly import build_engine
from kiosk.config import DEFAULT_POLICY_DIR, Settings
from kiosk.intents import INTENTS


@pytest.fixture(scope="module")
def classifier(nlu_bundle: Path) -> OnnxIntentClassifier:
    return OnnxIntentClassifier(nlu_bundle)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("我的银行卡丢了", "card_lost"),
        ("I forgot my PIN", "pin_reset"),
        ("今天美元汇率多少", "exchange_rate"),
        ("I'd like to open a savings account", "account_open"),
        ("跨行转账收手续费吗", "fees"),
        ("明天会下雨吗", "out_of_scope"),
        ("how do I register for the banking app", "mobile_banking"),
        ("我要取个号", "queue_ticket"),
    ],
)
def test_known_phrasings(classifier: OnnxIntentClassifier, text: str, intent: str) -> None:
    label, p = classifier.predict(Normalizer()(text).text)[0]
    assert label == intent
    if intent != "out_of_scope":  # declining needs no confidence: a fallback also declines
        assert p >= classifier.threshold


def test_probabilities_are_calibrated_distributions(classifier: OnnxIntentClassifier) -> None:
    probs = classifier.predict_batch(["你好", "hello", "", "zzzz qqqq"])
    assert probs.shape == (4, len(INTENTS) + 1)
    assert np.allclose(probs.sum(axis=1), 1.0)
    assert classifier.calibration.labels == (*INTENTS, OTHER_LABEL)
    assert 0.0 < classifier.calibration.temperature < 20


def test_golden_cases_pass_and_metrics_are_recorded(classifier: OnnxIntentClassifier) -> None:
    classifier.check_golden()
    assert classifier.manifest is not None
    metrics = classifier.manifest.metrics
    assert metrics["size_int8_bytes"] * 3 < metrics["size_fp32_bytes"]
    assert metrics["int8_fp32_agreement"] > 0.97
    assert {"zh", "en"} <= set(metrics["dev_per_lang"])


def corrupt_copy(bundle: Path, tmp_path: Path) -> Path:
    target = tmp_path / "nlu"
    shutil.copytree(bundle, target)
    return target


def test_truncated_model_is_detected(nlu_bundle: Path, tmp_path: Path) -> None:
    bundle = corrupt_copy(nlu_bundle, tmp_path)
    model = bundle / "model.onnx"
    model.write_bytes(model.read_bytes()[: model.stat().st_size // 2])
    with pytest.raises(ModelCorruptError, match="truncated"):
        OnnxIntentClassifier(bundle)


def test_garbage_model_with_matching_manifest_is_detected(nlu_bundle: Path, tmp_path: Path) -> None:
    bundle = corrupt_copy(nlu_bundle, tmp_path)
    (bundle / "model.onnx").write_bytes(b"\x00garbage" * 100)
    write_manifest(bundle, name="nlu", kind="nlu", version="9.9.9")
    with pytest.raises(ModelCorruptError, match="onnxruntime cannot load"):
        OnnxIntentClassifier(bundle)


def test_missing_model_is_reported(nlu_bundle: Path, tmp_path: Path) -> None:
    bundle = corrupt_copy(nlu_bundle, tmp_path)
    (bundle / "model.onnx").unlink()
    with pytest.raises(ModelMissingError):
        OnnxIntentClassifier(bundle)


def test_failing_golden_cases_are_reported(nlu_bundle: Path, tmp_path: Path) -> None:
    bundle = corrupt_copy(nlu_bundle, tmp_path)
    (bundle / "golden.json").write_text(json.dumps([{"text": "我的银行卡丢了", "intent": "greeting"}]))
    write_manifest(bundle, name="nlu", kind="nlu", version="9.9.9")
    with pytest.raises(ModelHealthError, match="golden"):
        OnnxIntentClassifier(bundle).check_golden()


def test_kiosk_keeps_serving_with_rules_when_the_model_is_corrupt(nlu_bundle: Path, tmp_path: Path) -> None:
    bundle = corrupt_copy(nlu_bundle, tmp_path)
    (bundle / "model.onnx").write_bytes(b"broken")
    settings = Settings(state_dir=tmp_path / "state", seed_dirs=(DEFAULT_POLICY_DIR, bundle))
    engine, health = build_engine(settings)
    assert any("model.onnx" in p for p in health.problems)
    assert not engine.understander.has_model
    _, u = engine.understand("我的银行卡被偷了")
    assert (u.intent, u.stage) == ("card_lost", "rules")


def test_engine_with_the_real_model(nlu_bundle: Path, tmp_path: Path) -> None:
    settings = Settings(
        state_dir=tmp_path / "state", seed_dirs=(DEFAULT_POLICY_DIR, nlu_bundle), use_llm=False, use_embedder=False
    )
    engine, health = build_engine(settings)
    assert health.problems == []
    assert health.nlu_version != "none"
    _, u = engine.understand("I lost my card on the metro this morning")
    assert (u.intent, u.stage) == ("card_lost", "model")


@pytest.mark.parametrize("text", ["我的银行卡丢了", "i forgot my pin", "汇率 usd 多少"])
def test_feature_contributions_are_exact(classifier: OnnxIntentClassifier, text: str) -> None:
    norm = Normalizer()(text).text
    top = classifier.predict(norm)[0][0]
    found = classifier.explain(norm, top, k=1000)
    logit = float(classifier.logits([norm])[0][classifier.calibration.labels.index(top)])
    # The int8 model is linear: the bias plus every feature's contribution is the logit it computed.
    assert found.logit == pytest.approx(logit, abs=1e-3)
    assert found.bias + sum(f.weight for f in found.features) == pytest.approx(logit, abs=1e-3)
    weights = [f.weight for f in found.features]
    assert weights == sorted(weights, reverse=True)
    assert weights[0] > 0
    assert len(classifier.explain(norm, top).features) == min(5, len(weights))
    with pytest.raises(ValueError, match="not a label"):
        classifier.explain(norm, "no_such_intent")
