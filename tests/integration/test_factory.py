"""The HQ factory builds a real bundle: train, ONNX export, int8 quantization, calibration."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from bundles import verify_bundle
from edge_models.build.train_intent import build
from edge_models.intent_onnx import OnnxIntentClassifier
from tests.fakes import ROOT


def small_dataset(target: Path, per_file: int = 30) -> Path:
    for source in sorted((ROOT / "edge_models" / "data" / "intents").glob("*/*.txt")):
        lines = source.read_text(encoding="utf-8").splitlines()[:per_file]
        out = target / "intents" / source.parent.name / source.name
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, object]]:
    root = tmp_path_factory.mktemp("factory")
    data = small_dataset(root / "data")
    metrics = build(data, root / "out" / "nlu", version="0.0.1")
    return data, root / "out" / "nlu", metrics


def test_bundle_is_complete_and_verifiable(built: tuple[Path, Path, dict[str, object]]) -> None:
    _, bundle, metrics = built
    manifest = verify_bundle(bundle, expect_kind="nlu")
    assert {f.path for f in manifest.files} == {
        "model.onnx",
        "features.json",
        "calibration.json",
        "golden.json",
        "intents.json",
    }
    assert manifest.version == "0.0.1"
    assert manifest.metrics == metrics
    assert manifest.source["tools"]["onnxruntime"]
    assert len(manifest.source["inputs_sha256"]) == 64
    assert (bundle.parent / "nlu-model_fp32.onnx").is_file()


def test_built_model_loads_and_passes_its_golden_cases(built: tuple[Path, Path, dict[str, object]]) -> None:
    _, bundle, _ = built
    classifier = OnnxIntentClassifier(bundle)
    classifier.check_golden()
    assert 0.2 <= classifier.threshold < 1.0


def test_same_inputs_build_the_same_model(built: tuple[Path, Path, dict[str, object]], tmp_path: Path) -> None:
    data, bundle, _ = built
    build(data, tmp_path / "nlu", version="0.0.1")
    for name in ("model.onnx", "features.json", "calibration.json", "golden.json"):
        assert sha(tmp_path / "nlu" / name) == sha(bundle / name), name
