"""Moved to :mod:`bundles.archive`; this name stays for code written against the old layout."""

from bundles import (
    DEFAULT_MAX_MEMBERS,
    DEFAULT_MAX_UNPACKED,
    MAX_NAME_BYTES,
    MAX_PATH_BYTES,
    pack_bundle,
    unpack_bundle,
)

__all__ = [
    "DEFAULT_MAX_MEMBERS",
    "DEFAULT_MAX_UNPACKED",
    "MAX_NAME_BYTES",
    "MAX_PATH_BYTES",
    "pack_bundle",
    "unpack_bundle",
]
