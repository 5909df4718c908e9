"""Exceptions of the model runtimes, rooted by origin."""

from __future__ import annotations


class ModelError(Exception):
    """Base of every error raised by :mod:`edge_models`."""


class ModelMissingError(ModelError):
    """The model bundle or one of its files does not exist."""


class ModelCorruptError(ModelError):
    """A model file fails its size or hash check, or cannot be parsed."""


class ModelHealthError(ModelError):
    """A loaded model fails its golden test cases."""
