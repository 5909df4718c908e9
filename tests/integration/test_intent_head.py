"""The intent model's second head on MiniLM sentence vectors, with the real bundles (docs/adr/0003)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from bundles import write_manifest
from bundles.manifest import Manifest
from edge_models.embedder_onnx import OnnxEmbedder
from edge_models.intent_head import HEAD_FILE
from edge_models.intent_onnx import CALIBRATION_FILE, OnnxIntentClassifier
from edge_models.normalize import Normalizer
from kiosk.assembly import build_engine
from kiosk.config import DEFAULT_POLICY_DIR, DEFAULT_SEED_DIR, Settings

EMBEDDER = DEFAULT_SEED_DIR / "embedder"


class RecordingEmbedder:
    """Wraps the real embedder, records what it was asked, and can pretend to be another model."""

    def __init__(self, real: OnnxEmbedder, *, manifest: Manifest | None) -> None:
        self._real = real
        self.manifest = manifest
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.calls.append(list(texts))
        return self._real.embed(texts)


@pytest.fixture(scope="module")
def embedder() -> OnnxEmbedder:
    if not (EMBEDDER / "manifest.json").is_file():
        pytest.fail(f"{EMBEDDER} is not built: run `make models`")
    return OnnxEmbedder(EMBEDDER)


@pytest.fixture(scope="module")
def bundle(nlu_bundle: Path) -> Path:
    if not (nlu_bundle / HEAD_FILE).is_file():
        pytest.fail(f"{nlu_bundle} has no second head: build it with --embedder (make models)")
    return nlu_bundle


def norm(text: str) -> str:
    return Normalizer()(text).text


def test_the_head_runs_on_latin_text_only(bundle: Path, embedder: OnnxEmbedder) -> None:
    recording = RecordingEmbedder(embedder, manifest=embedder.manifest)
    mixed = OnnxIntentClassifier(bundle, embedder=recording)
    alone = OnnxIntentClassifier(bundle)
    assert mixed.head_active
    assert not alone.head_active
    zh, en = norm("我的银行卡丢了"), norm("somebody took my card from my bag at the gym")
    assert np.allclose(mixed.predict_batch([zh]), alone.predict_batch([zh]))
    assert recording.calls == []
    probs = mixed.predict_batch([en, zh])
    assert recording.calls == [[en]]
    assert np.allclose(probs.sum(axis=1), 1.0)
    assert not np.allclose(probs[0], alone.predict_batch([en])[0])
    assert mixed.predict(en)[0][0] == "card_lost"


def test_thresholds_are_per_script_and_per_head(bundle: Path, embedder: OnnxEmbedder) -> None:
    calibration = json.loads((bundle / CALIBRATION_FILE).read_text(encoding="utf-8"))
    mixed = OnnxIntentClassifier(bundle, embedder=embedder)
    alone = OnnxIntentClassifier(bundle)
    zh, en = norm("你们几点关门"), norm("what time do you close")
    assert mixed.threshold_for(zh) == alone.threshold_for(zh) == calibration["script_thresholds"]["han"]
    assert mixed.threshold_for(en) == calibration["embed_head"]["threshold"]
    assert alone.threshold_for(en) == calibration["script_thresholds"]["latin"]


def test_another_embedder_turns_the_head_off(bundle: Path, embedder: OnnxEmbedder) -> None:
    unknown = RecordingEmbedder(embedder, manifest=None)
    classifier = OnnxIntentClassifier(bundle, embedder=unknown)
    assert not classifier.head_active
    assert classifier.head_problem is not None
    assert "not the one" in classifier.head_problem
    classifier.predict(norm("how much is the euro today"))
    assert unknown.calls == []


def test_a_corrupt_head_is_detected(bundle: Path, embedder: OnnxEmbedder, tmp_path: Path) -> None:
    import shutil

    from edge_models import ModelCorruptError

    target = tmp_path / "nlu"
    shutil.copytree(bundle, target)
    (target / HEAD_FILE).write_bytes(b"\x00not onnx")
    write_manifest(target, name="nlu", kind="nlu", version="9.9.9")
    with pytest.raises(ModelCorruptError, match="onnxruntime cannot load"):
        OnnxIntentClassifier(target, embedder=embedder)


def test_the_kiosk_runs_the_head_and_says_when_it_cannot(bundle: Path, tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path / "with", seed_dirs=(DEFAULT_POLICY_DIR, bundle, EMBEDDER), use_llm=False)
    engine, health = build_engine(settings)
    assert health.problems == []
    _, u = engine.understand("I left my wallet in a taxi and my bank card was in it")
    assert (u.intent, u.stage) == ("card_lost", "model")
    missing = Settings(state_dir=tmp_path / "without", seed_dirs=(DEFAULT_POLICY_DIR, bundle), use_llm=False)
    _, health = build_engine(missing)
    assert any("n-grams alone" in p for p in health.problems)


def small_dataset(target: Path, per_file: int = 30) -> Path:
    root = Path(__file__).resolve().parents[2]
    for source in sorted((root / "edge_models" / "data" / "intents").glob("*/*.txt")):
        lines = source.read_text(encoding="utf-8").splitlines()[:per_file]
        out = target / "intents" / source.parent.name / source.name
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def test_the_factory_builds_the_head_into_the_bundle_reproducibly(embedder: OnnxEmbedder, tmp_path: Path) -> None:
    from bundles import verify_bundle
    from edge_models.build.train_intent import build

    data = small_dataset(tmp_path / "data")
    metrics = build(data, tmp_path / "a" / "nlu", version="0.0.1", embedder_dir=EMBEDDER)
    build(data, tmp_path / "b" / "nlu", version="0.0.1", embedder_dir=EMBEDDER)
    manifest = verify_bundle(tmp_path / "a" / "nlu", expect_kind="nlu")
    files = {f.path: f.sha256 for f in manifest.files}
    assert HEAD_FILE in files
    again = {f.path: f.sha256 for f in verify_bundle(tmp_path / "b" / "nlu", expect_kind="nlu").files}
    assert again == files
    head = metrics["embed_head"]
    assert isinstance(head, dict)
    assert 0.0 < head["weight"] < 1.0
    calibration = json.loads((tmp_path / "a" / "nlu" / CALIBRATION_FILE).read_text(encoding="utf-8"))
    assert calibration["embed_head"]["embedder_sha256"] == manifest.source["embedder_sha256"]
    assert set(calibration["script_thresholds"]) == {"han", "latin"}
    OnnxIntentClassifier(tmp_path / "a" / "nlu", embedder=embedder).check_golden()


def test_the_optional_gemma_token_head_is_built_and_mixed_in_for_han_text(tmp_path: Path) -> None:
    import shutil

    from edge_models.build.token_head import gemma_gguf
    from edge_models.build.train_intent import build
    from edge_models.intent_head import GEMMA_HEAD_FILE, GEMMA_VOCAB_FILE

    data = small_dataset(tmp_path / "data")
    gguf = gemma_gguf(Path(__file__).resolve().parents[2] / "build" / "cache")
    metrics = build(data, tmp_path / "nlu", version="0.0.1", gemma_gguf=gguf)
    assert isinstance(metrics["token_head"], dict)
    with_tokens = OnnxIntentClassifier(tmp_path / "nlu")
    with_tokens.check_golden()
    calibration = json.loads((tmp_path / "nlu" / CALIBRATION_FILE).read_text(encoding="utf-8"))
    zh, en = norm("我的银行卡丢了"), norm("i lost my card")
    assert with_tokens.threshold_for(zh) == calibration["token_head"]["threshold"]
    # The same bundle without the token head: Han text scores differently, Latin text the same.
    plain = tmp_path / "plain"
    shutil.copytree(tmp_path / "nlu", plain)
    del calibration["token_head"]
    (plain / CALIBRATION_FILE).write_text(json.dumps(calibration), encoding="utf-8")
    (plain / GEMMA_HEAD_FILE).unlink()
    (plain / GEMMA_VOCAB_FILE).unlink()
    write_manifest(plain, name="nlu", kind="nlu", version="0.0.2")
    without = OnnxIntentClassifier(plain)
    assert not np.allclose(with_tokens.predict_batch([zh]), without.predict_batch([zh]))
    assert np.allclose(with_tokens.predict_batch([en]), without.predict_batch([en]))


def test_nearest_training_examples_explain_the_head(bundle: Path, embedder: OnnxEmbedder) -> None:
    from edge_models.build.embed_head import EXAMPLES_PER_LABEL
    from edge_models.intent_explain import EXAMPLES_FILE

    if not (bundle / EXAMPLES_FILE).is_file():
        pytest.fail(f"{bundle} keeps no training examples: rebuild it (make models)")
    classifier = OnnxIntentClassifier(bundle, embedder=embedder)
    assert classifier.examples is not None
    counts: dict[str, int] = {}
    for intent in classifier.examples.intents:
        counts[intent] = counts.get(intent, 0) + 1
    assert max(counts.values()) <= EXAMPLES_PER_LABEL  # bounded per label
    text = Normalizer()("I lost my bank card, can you block it").text
    top = classifier.predict(text)[0][0]
    found = classifier.explain(text, top, k=3)
    assert len(found.examples) == 3
    sims = [e.similarity for e in found.examples]
    assert sims == sorted(sims, reverse=True)
    assert found.examples[0].intent == top == "card_lost"
    assert not classifier.explain(
        Normalizer()("我的卡丢了").text, "card_lost"
    ).examples  # Han text: no head, no examples
    plain = OnnxIntentClassifier(bundle)  # without the embedder the head is off: n-gram features only
    assert plain.examples is None
    assert not plain.explain(text, top).examples
