"""Moved to :mod:`bundles.manifest`; this name stays for code written against the old layout."""

from bundles import (
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

__all__ = [
    "BUNDLE_KINDS",
    "MANIFEST_NAME",
    "MANIFEST_SCHEMA_VERSION",
    "FileEntry",
    "Manifest",
    "atomic_write_bytes",
    "check_features",
    "read_manifest",
    "recover_dir",
    "sha256_file",
    "staging_dir",
    "swap_in_dir",
    "verify_bundle",
    "write_manifest",
]
