"""One error tree for every device: catch :class:`DeviceError` to survive any driver's failure."""

from __future__ import annotations


class DeviceError(Exception):
    """A device failed; the runtime keeps going without it."""


class DeviceUnavailableError(DeviceError):
    """The device is not there, or its driver cannot be loaded."""
