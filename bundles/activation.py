"""Installing bundles into the state directory and switching ``active/``.

Layout (see ARCHITECTURE.md)::

    <state>/bundles/<name>/<version>/    immutable, verified before use
    <state>/active/<name> -> ../bundles/<name>/<version>

A downloaded bundle is unpacked (and hashed, once) into a staging folder and
renamed into place (:func:`install_unpacked`); a local bundle (a seed) is
copied into a hidden temporary directory and renamed (:func:`install_bundle`).
A crash leaves either nothing or a whole bundle. Activation
replaces the symlink atomically with ``os.replace``.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from bundles.errors import ActivationError, BundleError
from bundles.manifest import Manifest, read_manifest, verify_bundle


def bundles_root(state_dir: Path) -> Path:
    """Folder that holds every installed bundle version."""
    return state_dir / "bundles"


def active_root(state_dir: Path) -> Path:
    """Folder of the ``active/<name>`` symlinks."""
    return state_dir / "active"


def installed_dir(state_dir: Path, name: str, version: str) -> Path:
    """Where version ``version`` of bundle ``name`` lives once installed."""
    return bundles_root(state_dir) / name / version


def _installed_copy(target: Path, manifest: Manifest) -> Manifest | None:
    """The intact copy of this version already at ``target``, or None (a damaged copy is removed).

    Raises:
        ActivationError: that version is installed with other content.
    """
    if not target.exists():
        return None
    try:
        existing = verify_bundle(target)
    except BundleError:
        shutil.rmtree(target)
        return None
    if existing.files != manifest.files:
        raise ActivationError(
            f"{manifest.name} {manifest.version} is installed with other content; refusing to overwrite"
        )
    return existing


def install_bundle(source: Path, state_dir: Path) -> Manifest:
    """Verify ``source`` and copy it into ``bundles/<name>/<version>/``.

    An already installed, intact copy of the same version is kept as it is.

    Raises:
        BundleError: the source bundle is missing, malformed or corrupt.
        ActivationError: the installed copy differs from the source.
    """
    manifest = verify_bundle(source)
    target = installed_dir(state_dir, manifest.name, manifest.version)
    existing = _installed_copy(target, manifest)
    if existing is not None:
        return existing
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".staging-{manifest.version}-{uuid.uuid4().hex[:8]}"
    try:
        shutil.copytree(source, staging, ignore=shutil.ignore_patterns(".*"))
        verify_bundle(staging)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def install_unpacked(directory: Path, manifest: Manifest, state_dir: Path) -> Manifest:
    """Move a folder :func:`~bundles.archive.unpack_bundle` made into ``bundles/<name>/<version>/``.

    The files were hashed while they were unpacked: they are renamed into
    place, not copied or hashed again. ``directory`` must be on the same file
    system as the state directory (the agent unpacks under ``<state>/sync/``).
    A crash before the rename leaves only a staging folder (removed by the
    agent's recovery); after it, a whole bundle.

    Raises:
        ActivationError: that version is installed with other content.
        OSError: the rename failed (e.g. another file system); nothing is installed.
    """
    target = installed_dir(state_dir, manifest.name, manifest.version)
    existing = _installed_copy(target, manifest)
    if existing is not None:
        shutil.rmtree(directory, ignore_errors=True)
        return existing
    target.parent.mkdir(parents=True, exist_ok=True)
    os.rename(directory, target)
    fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return manifest


def activate(state_dir: Path, name: str, version: str) -> Path:
    """Point ``active/<name>`` at an installed version, atomically.

    Raises:
        ActivationError: that version is not installed.
    """
    target = installed_dir(state_dir, name, version)
    if not (target / "manifest.json").is_file():
        raise ActivationError(f"{name} {version} is not installed")
    root = active_root(state_dir)
    root.mkdir(parents=True, exist_ok=True)
    link = root / name
    tmp = root / f".{name}.{uuid.uuid4().hex[:8]}"
    os.symlink(os.path.relpath(target, root), tmp)
    os.replace(tmp, link)
    return link


def active_dir(state_dir: Path, name: str) -> Path | None:
    """Resolved directory of the active version of ``name``, or None."""
    link = active_root(state_dir) / name
    if not link.exists():
        return None
    return link.resolve()


def active_manifest(state_dir: Path, name: str) -> Manifest | None:
    """Manifest of the active version of ``name`` (not re-hashed), or None."""
    directory = active_dir(state_dir, name)
    if directory is None:
        return None
    try:
        return read_manifest(directory)
    except BundleError:
        return None


def provision_seed(source: Path, state_dir: Path) -> Manifest:
    """Install a built-in default bundle and activate it when appropriate.

    A seed is activated when nothing of that name is active yet, or when the
    active version is itself an older seed. Bundles that came from HQ are never
    replaced by a seed.

    Raises:
        BundleError: the seed bundle is missing, malformed or corrupt.
    """
    manifest = install_bundle(source, state_dir)
    current = active_manifest(state_dir, manifest.name)
    if current is None or (current.origin == "seed" and current.version != manifest.version):
        activate(state_dir, manifest.name, manifest.version)
    return manifest
