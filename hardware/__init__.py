"""Device interfaces and drivers, each with a simulated driver for tests and demos.

Microphone, speaker, camera, printer and card reader. Drivers are chosen by
name through the driver registry (:mod:`hardware.registry`); every device
error is a :class:`DeviceError`.
"""

from hardware.errors import DeviceError, DeviceUnavailableError, DriverSpecError, UnknownDriverError
from hardware.health import DeviceHealth
from hardware.registry import DRIVERS, DriverKind, DriverOptions, DriverTable, check_driver

__all__ = [
    "DRIVERS",
    "DeviceError",
    "DeviceHealth",
    "DeviceUnavailableError",
    "DriverKind",
    "DriverOptions",
    "DriverSpecError",
    "DriverTable",
    "UnknownDriverError",
    "check_driver",
]
