"""Signed updates: the TUF client, the sync agent and HQ (bundles themselves: :mod:`bundles`).

The sync agent and HQ publisher (python-tuf) build on this package.
"""

from bundles import (
    FileEntry,
    Manifest,
    activate,
    active_dir,
    active_manifest,
    check_features,
    install_bundle,
    installed_dir,
    provision_seed,
    read_manifest,
    recover_dir,
    staging_dir,
    swap_in_dir,
    verify_bundle,
    write_manifest,
)
from sync.errors import (
    ActivationError,
    BundleCorruptError,
    BundleError,
    BundleFeatureError,
    BundleInvalidError,
    BundleMissingError,
    SyncError,
)

__all__ = [
    "ActivationError",
    "BundleCorruptError",
    "BundleError",
    "BundleFeatureError",
    "BundleInvalidError",
    "BundleMissingError",
    "FileEntry",
    "Manifest",
    "SyncError",
    "activate",
    "active_dir",
    "active_manifest",
    "check_features",
    "install_bundle",
    "installed_dir",
    "provision_seed",
    "read_manifest",
    "recover_dir",
    "staging_dir",
    "swap_in_dir",
    "verify_bundle",
    "write_manifest",
]
