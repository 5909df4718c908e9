"""Exceptions of the model runtimes, rooted by origin."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bundles import Manifest


class ModelError(Exception):
    """Base of every error raised by :mod:`edge_models`."""


class ModelMissingError(ModelError):
    """The model bundle or one of its files does not exist."""


class ModelCorruptError(ModelError):
    """A model file fails its size or hash check, or cannot be parsed."""


class ModelHealthError(ModelError):
    """A loaded model fails its golden test cases."""


def verify_model_bundle(bundle_dir: Path, kind: str | None) -> Manifest:
    """Check a model bundle against its manifest, in this package's error terms.

    Raises:
        ModelMissingError: the bundle or one of its files is missing.
        ModelCorruptError: the manifest is malformed or of another kind, or a
            file fails its size or sha256 check.
    """
    from bundles import BundleError, BundleMissingError, verify_bundle

    try:
        return verify_bundle(bundle_dir, expect_kind=kind)
    except BundleMissingError as err:
        raise ModelMissingError(str(err)) from err
    except BundleError as err:
        raise ModelCorruptError(str(err)) from err
