"""The bundle format: a directory with ``manifest.json`` and its files.

A manifest names the bundle, its kind and version, and lists every file with
its size and sha256. Loaders call :func:`verify_bundle` before they trust a
single byte of the directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bundles.errors import BundleCorruptError, BundleFeatureError, BundleInvalidError, BundleMissingError

MANIFEST_NAME = "manifest.json"
MANIFEST_SCHEMA_VERSION = 1
BUNDLE_KINDS = ("nlu", "llm", "policy", "embedder", "tts")
_CHUNK = 1 << 20


class FileEntry(BaseModel):
    """One file of a bundle, as the manifest records it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str = Field(description="Path relative to the bundle directory, '/' separated.")
    size: int = Field(ge=0, description="Size in bytes.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="Hex sha256 of the content.")


class Manifest(BaseModel):
    """``manifest.json``: what a bundle is and what it must contain."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = Field(default=MANIFEST_SCHEMA_VERSION, description="Manifest format version.")
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", description="Bundle name, e.g. 'policy'.")
    kind: str = Field(description="One of nlu, llm, policy, embedder, tts (a voice), or asr-<lang>.")
    version: str = Field(pattern=r"^[0-9A-Za-z][0-9A-Za-z.+_-]*$", description="Version string.")
    created: str = Field(default="", description="ISO 8601 time the bundle was built.")
    origin: str = Field(default="hq", description="'hq' for published bundles, 'seed' for the defaults built in.")
    requires: dict[str, str] = Field(default_factory=dict, description="Runtime packages and versions it needs.")
    requires_features: tuple[str, ...] = Field(
        default=(),
        description="Kiosk runtime features it needs (e.g. 'intent-set-v2'); a kiosk without one refuses the bundle.",
    )
    metrics: dict[str, Any] = Field(default_factory=dict, description="Evaluation metrics from the build.")
    source: dict[str, Any] = Field(default_factory=dict, description="Inputs and tool versions that built it.")
    files: tuple[FileEntry, ...] = Field(description="Every file of the bundle except the manifest.")

    def file(self, path: str) -> FileEntry:
        """Return the entry for ``path``.

        Raises:
            BundleInvalidError: the manifest lists no such file.
        """
        for entry in self.files:
            if entry.path == path:
                return entry
        raise BundleInvalidError(f"{self.name} {self.version}: manifest lists no file {path!r}")


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, fsync, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _kind_ok(kind: str) -> bool:
    return kind in BUNDLE_KINDS or (kind.startswith("asr-") and len(kind) > 4)


def write_manifest(
    directory: Path,
    *,
    name: str,
    kind: str,
    version: str,
    created: str = "",
    origin: str = "hq",
    requires: dict[str, str] | None = None,
    metrics: dict[str, Any] | None = None,
    source: dict[str, Any] | None = None,
    requires_features: tuple[str, ...] = (),
) -> Manifest:
    """Hash every file under ``directory`` and write its ``manifest.json``.

    Raises:
        BundleInvalidError: ``kind`` is unknown or a field is malformed.
    """
    if not _kind_ok(kind):
        raise BundleInvalidError(f"unknown bundle kind {kind!r}")
    entries = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        rel = path.relative_to(directory).as_posix()
        if rel == MANIFEST_NAME or any(part.startswith(".") for part in Path(rel).parts):
            continue
        entries.append(FileEntry(path=rel, size=path.stat().st_size, sha256=sha256_file(path)))
    try:
        manifest = Manifest(
            name=name,
            kind=kind,
            version=version,
            created=created,
            origin=origin,
            requires=requires or {},
            requires_features=requires_features,
            metrics=metrics or {},
            source=source or {},
            files=tuple(entries),
        )
    except ValidationError as err:
        raise BundleInvalidError(f"manifest for {directory}: {err}") from err
    data = manifest.model_dump(mode="json")
    if not data["requires_features"]:
        # Written only when needed: kiosks of earlier releases forbid unknown manifest keys, so a
        # bundle without features stays readable to them; one with features is refused by them.
        del data["requires_features"]
    text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True)
    atomic_write_bytes(directory / MANIFEST_NAME, (text + "\n").encode())
    return manifest


def read_manifest(directory: Path) -> Manifest:
    """Parse and validate ``directory/manifest.json`` (files are not hashed).

    Raises:
        BundleMissingError: the directory or its manifest does not exist.
        BundleInvalidError: the manifest is not valid JSON or breaks the schema.
    """
    path = directory / MANIFEST_NAME
    if not path.is_file():
        raise BundleMissingError(f"no bundle at {directory} ({MANIFEST_NAME} missing)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BundleInvalidError(f"{path}: not valid JSON: {err}") from err
    if not isinstance(data, dict):
        raise BundleInvalidError(f"{path}: expected a JSON object")
    if data.get("schema_version", MANIFEST_SCHEMA_VERSION) > MANIFEST_SCHEMA_VERSION:
        raise BundleInvalidError(
            f"{path}: schema_version {data['schema_version']} is newer than this kiosk reads "
            f"({MANIFEST_SCHEMA_VERSION})"
        )
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as err:
        raise BundleInvalidError(f"{path}: {_first_error(err)}") from err
    if not _kind_ok(manifest.kind):
        raise BundleInvalidError(f"{path}: unknown bundle kind {manifest.kind!r}")
    for entry in manifest.files:
        rel = Path(entry.path)
        if rel.is_absolute() or ".." in rel.parts:
            raise BundleInvalidError(f"{path}: file path {entry.path!r} leaves the bundle")
    return manifest


def verify_bundle(directory: Path, *, expect_kind: str | None = None) -> Manifest:
    """Read the manifest and check every file's size and sha256.

    Raises:
        BundleMissingError: the bundle or one of its files is missing.
        BundleInvalidError: the manifest is malformed or of another kind.
        BundleCorruptError: a file's size or hash differs from the manifest.
    """
    manifest = read_manifest(directory)
    if expect_kind is not None and manifest.kind != expect_kind:
        raise BundleInvalidError(f"{directory}: bundle kind is {manifest.kind!r}, expected {expect_kind!r}")
    for entry in manifest.files:
        path = directory / entry.path
        if not path.is_file():
            raise BundleMissingError(f"{directory}: file {entry.path} listed in the manifest is missing")
        size = path.stat().st_size
        if size != entry.size:
            raise BundleCorruptError(
                f"{directory}: {entry.path} is {size} bytes, manifest says {entry.size} (truncated or replaced)"
            )
        if sha256_file(path) != entry.sha256:
            raise BundleCorruptError(f"{directory}: {entry.path} does not match its sha256 in the manifest")
    return manifest


def check_features(manifest: Manifest, available: Iterable[str]) -> None:
    """Refuse a bundle that needs a runtime feature this kiosk lacks, naming it.

    Bundles without ``requires_features`` (every bundle built before it existed) pass.

    Raises:
        BundleFeatureError: a required feature is not in ``available``.
    """
    have = sorted(set(available))
    missing = [feature for feature in manifest.requires_features if feature not in have]
    if missing:
        names = ", ".join(repr(feature) for feature in missing)
        raise BundleFeatureError(
            f"{manifest.name} {manifest.version} needs feature {names}, "
            f"this kiosk has {', '.join(have) if have else 'none'}"
        )


def _first_error(err: ValidationError) -> str:
    first = err.errors()[0]
    loc = ".".join(str(part) for part in first["loc"])
    return f"field {loc}: {first['msg']}"


# -- building a bundle folder and swapping it in ------------------------------------------------

_RENAME_EXCHANGE = 2  # linux/fs.h


def _staging_path(out_dir: Path) -> Path:
    return out_dir.parent / f".{out_dir.name}.staging"


def _aside_path(out_dir: Path) -> Path:
    return out_dir.parent / f".{out_dir.name}.old"


def recover_dir(out_dir: Path) -> None:
    """Put back a bundle folder left aside by a swap that was killed half-way (no-op otherwise)."""
    aside = _aside_path(out_dir)
    if aside.is_dir() and not out_dir.exists():
        os.rename(aside, out_dir)
        _fsync_dir(out_dir.parent)


def staging_dir(out_dir: Path) -> Path:
    """A fresh, empty hidden folder next to ``out_dir`` to build the new bundle in.

    A bundle folder left aside by an interrupted :func:`swap_in_dir` is put back
    first, and leftovers of earlier builds are removed.
    """
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    recover_dir(out_dir)
    staging = _staging_path(out_dir)
    shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(_aside_path(out_dir), ignore_errors=True)
    staging.mkdir()
    return staging


def _exchange(a: Path, b: Path) -> None:
    """Swap two paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``).

    Raises:
        OSError: The kernel, C library or file system cannot do it.
    """
    import ctypes
    import ctypes.util

    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        raise OSError(38, "renameat2 is not available")
    at_fdcwd = -100
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno), str(a))


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def swap_in_dir(staging: Path, out_dir: Path) -> None:
    """Make the folder built in ``staging`` (see :func:`staging_dir`) the new ``out_dir``.

    With an existing ``out_dir`` the two folders are exchanged in one atomic
    rename (``RENAME_EXCHANGE``), then the old one is removed: a crash at any
    point leaves either the old or the new bundle at ``out_dir``. Where the
    file system cannot exchange, the old folder is renamed aside first and
    :func:`recover_dir` (called by the next :func:`staging_dir`) puts it back
    if the process died between the two renames.

    Raises:
        OSError: A rename failed; ``out_dir`` still holds the old bundle.
    """
    for path in sorted(staging.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
        elif path.is_dir():
            _fsync_dir(path)
    _fsync_dir(staging)
    recover_dir(out_dir)
    if not out_dir.exists():
        os.rename(staging, out_dir)
        _fsync_dir(out_dir.parent)
        return
    try:
        _exchange(staging, out_dir)
        old = staging
    except OSError:
        old = _aside_path(out_dir)
        shutil.rmtree(old, ignore_errors=True)
        os.rename(out_dir, old)
        try:
            os.rename(staging, out_dir)
        except OSError:
            os.rename(old, out_dir)  # the old bundle back in place before the error goes up
            raise
    _fsync_dir(out_dir.parent)
    shutil.rmtree(old, ignore_errors=True)
