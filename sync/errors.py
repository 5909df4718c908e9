"""Exceptions of the bundle and sync layer, rooted by origin."""

from __future__ import annotations


class SyncError(Exception):
    """Base of every error raised by :mod:`sync`."""


class BundleError(SyncError):
    """Something is wrong with a bundle on disk."""


class BundleMissingError(BundleError):
    """The bundle, its manifest or one of its files does not exist."""


class BundleInvalidError(BundleError):
    """The manifest is malformed, of the wrong kind, or unreadable."""


class BundleCorruptError(BundleError):
    """A file's size or hash differs from the manifest (truncated, tampered)."""


class ActivationError(SyncError):
    """A bundle could not be installed or made active."""
