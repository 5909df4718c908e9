"""Exceptions of the bundle layer: a bundle on disk, its archive, its installation and activation."""

from __future__ import annotations


class BundleError(Exception):
    """Something is wrong with a bundle on disk or with installing it."""


class BundleMissingError(BundleError):
    """The bundle, its manifest or one of its files does not exist."""


class BundleInvalidError(BundleError):
    """The manifest is malformed, of the wrong kind, or unreadable."""


class BundleFeatureError(BundleInvalidError):
    """The bundle needs a runtime feature (``requires_features``) this kiosk does not have."""


class BundleCorruptError(BundleError):
    """A file's size or hash differs from the manifest (truncated, tampered)."""


class UnpackError(BundleError):
    """A downloaded bundle archive is unsafe or malformed (links, '..', too big)."""


class ActivationError(BundleError):
    """A bundle could not be installed or made active."""


class HealthCheckError(BundleError):
    """A bundle failed its health check (load, golden cases)."""
