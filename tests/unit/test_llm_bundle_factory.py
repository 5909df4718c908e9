"""The LLM bundle factory assembles split model files and refuses an unpinned hash."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from edge_models.build.llm_bundle import DEFAULT_MODEL, MODELS, ModelHashError, assemble


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
