"""Bundles as tar archives: one archive is one TUF target.

Packing is deterministic (sorted names, zeroed owners and times) so the same
bundle always gives the same bytes and hash. Unpacking trusts nothing: only
regular files and directories, no absolute paths, no ``..``, no links or
devices, and a bound on the number of members and the total size.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import uuid
from pathlib import Path, PurePosixPath
from typing import IO, BinaryIO

from bundles.errors import BundleCorruptError, BundleError, BundleInvalidError, BundleMissingError, UnpackError
from bundles.manifest import MANIFEST_NAME, FileEntry, Manifest, read_manifest, verify_bundle

DEFAULT_MAX_UNPACKED = 2 << 30
DEFAULT_MAX_MEMBERS = 10_000
_CHUNK = 1 << 20


def pack_bundle(directory: Path, out: Path) -> Manifest:
    """Verify a bundle directory and write it to ``out`` as an uncompressed tar archive.

    Members are the bundle's files relative to the directory (``manifest.json``
    first), with fixed owners, modes and times.

    Raises:
        BundleError: the directory is not a valid, intact bundle.
    """
    manifest = verify_bundle(directory)
    with tarfile.open(out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel in [MANIFEST_NAME, *sorted(entry.path for entry in manifest.files)]:
            path = directory / rel
            info = tarfile.TarInfo(rel)
            info.size = path.stat().st_size
            info.mode = 0o644
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            with path.open("rb") as handle:
                tar.addfile(info, handle)
    return manifest


MAX_NAME_BYTES = 255  # one path component (NAME_MAX on Linux)
MAX_PATH_BYTES = 1024


def _safe_name(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if not name or path.is_absolute() or "\\" in name or any(part in ("..", "") for part in path.parts):
        raise UnpackError(f"archive member {name[:80]!r} leaves the bundle")
    encoded = name.encode("utf-8", "surrogateescape")
    if len(encoded) > MAX_PATH_BYTES or any(
        len(p.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES for p in path.parts
    ):
        raise UnpackError(f"archive member {name[:80]!r}…: name too long")
    return path


def _copy_hashing(source: IO[bytes], out: BinaryIO) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    while chunk := source.read(_CHUNK):
        digest.update(chunk)
        out.write(chunk)
        size += len(chunk)
    out.flush()
    os.fsync(out.fileno())
    return size, digest.hexdigest()


def unpack_bundle(
    archive: Path,
    dest_parent: Path,
    *,
    max_total: int = DEFAULT_MAX_UNPACKED,
    max_members: int = DEFAULT_MAX_MEMBERS,
) -> tuple[Path, Manifest]:
    """Unpack ``archive`` into a new folder under ``dest_parent``, checking each file as it is written.

    ``manifest.json`` must be the first member (:func:`pack_bundle` puts it
    there); every later file is hashed while it is written and must match
    its manifest entry, and every listed file must be present. Each byte is
    read and hashed once: the folder is ready for :func:`~bundles.activation.install_unpacked`.

    Args:
        archive: The tar file (already verified against its TUF target info).
        dest_parent: Staging folder; a fresh sub-folder is created in it.
        max_total: Upper bound of the unpacked size in bytes.
        max_members: Upper bound of the number of members.

    Returns:
        The unpacked bundle directory and its verified manifest.

    Raises:
        UnpackError: the archive is unreadable, unsafe or too large.
        BundleError: the unpacked bundle fails its manifest.
    """
    dest_parent.mkdir(parents=True, exist_ok=True)
    dest = dest_parent / f"unpack-{uuid.uuid4().hex[:12]}"
    dest.mkdir()
    try:
        manifest = _unpack_into(archive, dest, max_total, max_members)
    except (BundleError, OSError):
        shutil.rmtree(dest, ignore_errors=True)
        raise
    return dest, manifest


def _unpack_into(archive: Path, dest: Path, max_total: int, max_members: int) -> Manifest:
    total = 0
    manifest: Manifest | None = None
    entries: dict[str, FileEntry] = {}
    written: set[str] = set()
    try:
        with tarfile.open(archive, mode="r:") as tar:
            for count, member in enumerate(tar, start=1):
                if count > max_members:
                    raise UnpackError(f"{archive.name}: more than {max_members} members")
                rel = _safe_name(member.name)
                if member.isdir():
                    (dest / rel).mkdir(parents=True, exist_ok=True)
                    continue
                if not member.isreg():
                    raise UnpackError(f"{archive.name}: member {member.name!r} is not a regular file")
                total += member.size
                if total > max_total:
                    raise UnpackError(f"{archive.name}: unpacks to more than {max_total} bytes")
                name = rel.as_posix()
                if manifest is None and name != MANIFEST_NAME:
                    raise UnpackError(f"{archive.name}: the first file must be {MANIFEST_NAME}, not {name!r}")
                entry = entries.get(name)
                if manifest is not None and entry is None:
                    raise BundleInvalidError(f"{archive.name}: {name!r} is not listed in the manifest")
                if entry is not None and member.size != entry.size:
                    raise BundleCorruptError(
                        f"{archive.name}: {name} is {member.size} bytes, manifest says {entry.size}"
                    )
                source = tar.extractfile(member)
                if source is None:
                    raise UnpackError(f"{archive.name}: member {member.name!r} cannot be read")
                target = dest / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                with source, target.open("xb") as out:
                    size, digest = _copy_hashing(source, out)
                if manifest is None:
                    manifest = read_manifest(dest)
                    entries = {e.path: e for e in manifest.files}
                    continue
                if entry is not None and (size != entry.size or digest != entry.sha256):
                    raise BundleCorruptError(f"{archive.name}: {name} does not match its sha256 in the manifest")
                written.add(name)
    except (tarfile.TarError, EOFError, FileExistsError) as err:
        raise UnpackError(f"{archive.name}: not a readable bundle archive: {err}") from err
    if manifest is None:
        raise BundleMissingError(f"{archive.name}: no {MANIFEST_NAME} in the archive")
    missing = sorted(set(entries) - written)
    if missing:
        raise BundleMissingError(f"{archive.name}: files listed in the manifest are missing: {', '.join(missing[:5])}")
    return manifest
