"""Moved to :mod:`bundles.activation`; this name stays for code written against the old layout."""

from bundles import (
    activate,
    active_dir,
    active_manifest,
    active_root,
    bundles_root,
    install_bundle,
    installed_dir,
    provision_seed,
)

__all__ = [
    "activate",
    "active_dir",
    "active_manifest",
    "active_root",
    "bundles_root",
    "install_bundle",
    "installed_dir",
    "provision_seed",
]
