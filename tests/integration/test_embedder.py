"""The real MiniLM through the factory (optimum export, ORTQuantizer int8) and the kiosk runtime."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bundles.manifest import read_manifest, sha256_file
from edge_models import ModelCorruptError, ModelMissingError
from edge_models.build.embedder import build, eval_sentences, packaged_checkpoint
from edge_models.embedder_onnx import MODEL_FILE, TOKENIZER_FILE, OnnxEmbedder, bench_embedder, fp32_twin
from edge_models.normalize import Normalizer
from kiosk.assembly import build_engine
from kiosk.config import DEFAULT_POLICY_DIR, Settings
from kiosk.dialogue.faq import FaqMatcher
from kiosk.policy import Policy
from tests.fakes import ROOT

N = Normalizer()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("first") / "embedder"
    metrics = build(packaged_checkpoint(), out, origin="seed")
    return out, metrics


@pytest.fixture(scope="module")
def embedder(built: tuple[Path, dict[str, Any]]) -> OnnxEmbedder:
    return OnnxEmbedder(built[0])


def _copy(bundle: Path, tmp_path: Path) -> Path:
    target = tmp_path / "embedder"
    shutil.copytree(bundle, target)
    return target


def test_int8_agrees_with_its_fp32_twin(built: tuple[Path, dict[str, Any]]) -> None:
    bundle, metrics = built
    assert metrics["eval_sentences"] == 300
    assert metrics["cosine_to_fp32_mean"] >= 0.98
    assert metrics["cosine_to_fp32_min"] >= 0.9
    assert metrics["size_int8_bytes"] < metrics["size_fp32_bytes"] / 3
    assert read_manifest(bundle).metrics == metrics


def test_fp32_export_matches_the_torch_checkpoint(built: tuple[Path, dict[str, Any]]) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    checkpoint = packaged_checkpoint()
    texts = [N(t).text for t in ("I lost my bank card", "What is the dollar rate today?", "open an account")]
    tokenizer = AutoTokenizer.from_pretrained(str(checkpoint))
    model = AutoModel.from_pretrained(str(checkpoint)).eval()
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    reference = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=1).numpy()
    fp32 = OnnxEmbedder(built[0], verify=False, model_file=fp32_twin(built[0]).resolve())
    cosine = (fp32.embed(texts) * reference).sum(axis=1)
    assert cosine.min() > 0.9999


def test_embeddings_are_unit_vectors_that_follow_meaning(embedder: OnnxEmbedder) -> None:
    texts = [N(t).text for t in ("I lost my card", "my bank card is missing", "what is the euro exchange rate")]
    vectors = embedder.embed(texts)
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2
    assert embedder.embed([]).shape == (0, 384)
    # Batching and padding do not change a sentence's vector.
    alone = embedder.embed(texts[:1])
    long_batch = embedder.embed([texts[0], " ".join(["word"] * 300)])
    assert float(alone[0] @ long_batch[0]) > 0.9999


def test_same_inputs_build_the_same_bundle(built: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    first, _ = built
    second = tmp_path / "embedder"
    build(packaged_checkpoint(), second, origin="seed")
    a, b = read_manifest(first), read_manifest(second)
    assert a.files == b.files
    assert a.version == b.version
    assert a.source == b.source
    assert sha256_file(fp32_twin(first)) == sha256_file(fp32_twin(second))


def test_a_truncated_model_is_detected(built: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    bundle = _copy(built[0], tmp_path)
    data = (bundle / MODEL_FILE).read_bytes()
    (bundle / MODEL_FILE).write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelCorruptError, match="truncated"):
        OnnxEmbedder(bundle)


def test_a_tampered_model_of_the_same_size_is_detected(built: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    bundle = _copy(built[0], tmp_path)
    data = bytearray((bundle / MODEL_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (bundle / MODEL_FILE).write_bytes(bytes(data))
    with pytest.raises(ModelCorruptError, match="sha256"):
        OnnxEmbedder(bundle)


def test_missing_files_and_bundles_are_reported(built: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    bundle = _copy(built[0], tmp_path)
    (bundle / TOKENIZER_FILE).unlink()
    with pytest.raises(ModelMissingError):
        OnnxEmbedder(bundle)
    with pytest.raises(ModelMissingError):
        OnnxEmbedder(tmp_path / "nowhere")


def test_an_unverified_broken_model_is_still_a_clear_error(built: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    bundle = _copy(built[0], tmp_path)
    (bundle / MODEL_FILE).write_bytes(b"not an onnx model")
    with pytest.raises(ModelCorruptError, match="onnxruntime"):
        OnnxEmbedder(bundle, verify=False)


def test_the_kiosk_runtime_needs_neither_torch_nor_transformers(built: tuple[Path, dict[str, Any]]) -> None:
    code = (
        "import sys; from pathlib import Path; from edge_models.embedder_onnx import OnnxEmbedder; "
        f"e = OnnxEmbedder(Path({str(built[0])!r})); print(e.embed(['hello']).shape); "
        "print(sorted(m for m in ('torch', 'transformers', 'optimum') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.split("\n")[:2] == ["(1, 384)", "[]"]


def test_bench_reports_int8_and_fp32(built: tuple[Path, dict[str, Any]]) -> None:
    texts = [N(t).text for t in eval_sentences(ROOT / "edge_models" / "data", 20)]
    report = bench_embedder(built[0], texts)
    assert report["texts"] == 20
    assert report["int8"]["size_mb"] < report["fp32"]["size_mb"]
    assert 0 < report["int8"]["p50_ms"] <= report["int8"]["p95_ms"]
    assert report["cosine_to_fp32"]["mean"] >= 0.98
    with pytest.raises(ValueError, match="no texts"):
        bench_embedder(built[0], [])


def test_meaning_picks_the_right_faq_passage_for_a_paraphrase(embedder: OnnxEmbedder, policy: Policy) -> None:
    text = N("do you charge anything when I send money to another bank").text
    hybrid = FaqMatcher(policy.knowledge, N, embedder.embed).best(text, "fees")
    lexical = FaqMatcher(policy.knowledge, N).best(text, "fees")
    assert hybrid is not None
    assert lexical is not None
    assert hybrid.entry.id == "fees_interbank_transfer"
    assert lexical.entry.id != "fees_interbank_transfer"  # the words alone pick another passage
    assert hybrid.semantic is not None
    assert hybrid.semantic > 0.7


def test_the_kiosk_loads_the_embedder_and_survives_a_broken_one(
    built: tuple[Path, dict[str, Any]], nlu_bundle: Path, tmp_path: Path
) -> None:
    seeds = (DEFAULT_POLICY_DIR, nlu_bundle, built[0])
    engine, health = build_engine(Settings(state_dir=tmp_path / "state", seed_dirs=seeds, use_llm=False))
    assert health.embedder_version == read_manifest(built[0]).version
    assert not [p for p in health.problems if "embedder" in p]
    _, u = engine.understand("Can a foreigner open an account with a passport?")
    assert u.intent == "account_open"

    broken = _copy(built[0], tmp_path / "broken")
    (broken / MODEL_FILE).write_bytes((broken / MODEL_FILE).read_bytes()[:1000])
    seeds = (DEFAULT_POLICY_DIR, nlu_bundle, broken)
    engine, health = build_engine(Settings(state_dir=tmp_path / "state2", seed_dirs=seeds, use_llm=False))
    assert health.embedder_version == "none"
    assert any("embedder" in p for p in health.problems), health.problems
    _, u = engine.understand("Is there a fee for transfers to other banks?")
    assert u.intent == "fees"
