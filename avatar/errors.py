"""Exceptions of the avatar, rooted by origin."""

from __future__ import annotations


class AvatarError(Exception):
    """Base of every error raised by :mod:`avatar`."""


class AssetError(AvatarError):
    """An art or font file is missing or cannot be read."""


class RenderError(AvatarError):
    """The renderer could not start or draw (no video driver, bad size)."""
