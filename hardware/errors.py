"""One error tree for every device: catch :class:`DeviceError` to survive any driver's failure."""

from __future__ import annotations

from collections.abc import Iterable


class DeviceError(Exception):
    """A device failed; the runtime keeps going without it."""


class DeviceUnavailableError(DeviceError):
    """The device is not there, or its driver cannot be loaded."""


class DriverSpecError(DeviceUnavailableError):
    """The configuration names a driver wrongly: an unknown name or a malformed argument."""


class UnknownDriverError(DriverSpecError):
    """No driver of that name is registered for the device kind; the message lists the known ones."""

    def __init__(self, kind: str, name: str, known: Iterable[str]) -> None:
        self.kind = kind
        self.name = name
        self.known = tuple(known)
        super().__init__(f"unknown {kind} driver {name!r} (known: {', '.join(self.known)})")
