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
from bundles.archive import (
    DEFAULT_MAX_MEMBERS,
    DEFAULT_MAX_UNPACKED,
    MAX_NAME_BYTES,
    MAX_PATH_BYTES,
    pack_bundle,
    unpack_bundle,
)
from bundles.errors import (
    ActivationError,
    BundleCorruptError,
    BundleError,
    BundleFeatureError,
    BundleInvalidError,
    BundleMissingError,
    HealthCheckError,
    UnpackError,
)
from bundles.history import EVENTS, SyncEvent, record_event, sync_history
from bundles.manifest import (
    BUNDLE_KINDS,
    MANIFEST_NAME,
    MANIFEST_SCHEMA_VERSION,
    FileEntry,
    Manifest,
    atomic_write_bytes,
    check_features,
    read_manifest,
    recover_dir,
    sha256_file,
    staging_dir,
    swap_in_dir,
    verify_bundle,
    write_manifest,
)
from bundles.status import (
    RuntimeReport,
    read_runtime_report,
    request_now_path,
    request_sync_now,
    sync_dir,
    write_runtime_report,
)

__all__ = [
    "BUNDLE_KINDS",
    "DEFAULT_MAX_MEMBERS",
    "DEFAULT_MAX_UNPACKED",
    "EVENTS",
    "MANIFEST_NAME",
    "MANIFEST_SCHEMA_VERSION",
    "MAX_NAME_BYTES",
    "MAX_PATH_BYTES",
    "ActivationError",
    "BundleCorruptError",
    "BundleError",
    "BundleFeatureError",
    "BundleInvalidError",
    "BundleMissingError",
    "FileEntry",
    "HealthCheckError",
    "Manifest",
    "RuntimeReport",
    "SyncEvent",
    "UnpackError",
    "activate",
    "active_dir",
    "active_manifest",
    "active_root",
    "atomic_write_bytes",
    "bundles_root",
    "check_features",
    "install_bundle",
    "install_unpacked",
    "installed_dir",
    "pack_bundle",
    "provision_seed",
    "read_manifest",
    "read_runtime_report",
    "record_event",
    "recover_dir",
    "request_now_path",
    "request_sync_now",
    "sha256_file",
    "staging_dir",
    "swap_in_dir",
    "sync_dir",
    "sync_history",
    "unpack_bundle",
    "verify_bundle",
    "write_manifest",
    "write_runtime_report",
]
