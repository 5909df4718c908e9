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


class BundleFeatureError(BundleInvalidError):
    """The bundle needs a runtime feature (``requires_features``) this kiosk does not have."""


class BundleCorruptError(BundleError):
    """A file's size or hash differs from the manifest (truncated, tampered)."""


class ActivationError(SyncError):
    """A bundle could not be installed or made active."""


class UnpackError(BundleError):
    """A downloaded bundle archive is unsafe or malformed (links, '..', too big)."""


class UpdateError(SyncError):
    """An update cycle failed; the kiosk keeps what it has."""


class TransportError(UpdateError):
    """The repository could not be reached or stopped answering (network, HTTP, timeout)."""


class HttpStatusError(TransportError):
    """The server answered with an HTTP error status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class RepositoryRejectedError(UpdateError):
    """Data from the repository failed verification (signatures, versions, expiry, length, hash)."""


class HealthCheckError(SyncError):
    """A bundle failed its health check (load, golden cases)."""


class HqError(SyncError):
    """The HQ repository cannot do what was asked (missing keys, bad state, bad input)."""


class StorageError(SyncError):
    """The kiosk's own disk failed (full, read-only): transient, not the bundle's fault."""
