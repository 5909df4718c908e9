"""Exceptions of the sync layer (TUF, transport, HQ), rooted by origin.

The bundle errors live in :mod:`bundles.errors` (their own root,
:class:`~bundles.errors.BundleError`) and are re-exported here for older imports.
"""

from __future__ import annotations

from bundles import (
    ActivationError,
    BundleCorruptError,
    BundleError,
    BundleFeatureError,
    BundleInvalidError,
    BundleMissingError,
    HealthCheckError,
    UnpackError,
)

__all__ = [
    "ActivationError",
    "BundleCorruptError",
    "BundleError",
    "BundleFeatureError",
    "BundleInvalidError",
    "BundleMissingError",
    "HealthCheckError",
    "HqError",
    "HttpStatusError",
    "RepositoryRejectedError",
    "StorageError",
    "SyncError",
    "TransportError",
    "UnpackError",
    "UpdateError",
]


class SyncError(Exception):
    """Base of every error raised by :mod:`sync`."""


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


class HqError(SyncError):
    """The HQ repository cannot do what was asked (missing keys, bad state, bad input)."""


class StorageError(SyncError):
    """The kiosk's own disk failed (full, read-only): transient, not the bundle's fault."""
