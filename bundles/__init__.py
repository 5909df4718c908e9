"""Bundles on the kiosk: their format, archives, installation, activation, status and history.

One owner for everything that touches ``<state>/bundles/`` and
``<state>/active/``. The sync agent (:mod:`sync`, TUF and HQ) downloads
archives and hands them here; the runtime loads what is active.
``bundles`` imports nothing from ``kiosk``, ``sync`` or ``edge_models``.
"""

from bundles.activation import (
    activate,
    active_dir,
    active_manifest,
    active_root,
    bundles_root,
    install_bundle,
    install_unpacked,
    installed_dir,
    provision_seed,
)
from bundles.archive import pack_bundle, unpack_bundle
from bundles.errors import (
    ActivationError,
    BundleCorruptError,
    BundleError,
    BundleInvalidError,
    BundleMissingError,
    HealthCheckError,
    UnpackError,
)
from bundles.manifest import (
    MANIFEST_NAME,
    FileEntry,
    Manifest,
    read_manifest,
    recover_dir,
    staging_dir,
    swap_in_dir,
    verify_bundle,
    write_manifest,
)

__all__ = [
    "MANIFEST_NAME",
    "ActivationError",
    "BundleCorruptError",
    "BundleError",
    "BundleInvalidError",
    "BundleMissingError",
    "FileEntry",
    "HealthCheckError",
    "Manifest",
    "UnpackError",
    "activate",
    "active_dir",
    "active_manifest",
    "active_root",
    "bundles_root",
    "install_bundle",
    "install_unpacked",
    "installed_dir",
    "pack_bundle",
    "provision_seed",
    "read_manifest",
    "recover_dir",
    "staging_dir",
    "swap_in_dir",
    "unpack_bundle",
    "verify_bundle",
    "write_manifest",
]
