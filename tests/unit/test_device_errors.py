"""Every device driver's error is a DeviceError, so the runtime can survive any of them with one except."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import hardware
from hardware import DeviceError


def test_every_error_class_in_hardware_is_a_device_error() -> None:
    found = []
    for module_info in pkgutil.iter_modules(hardware.__path__):
        module = importlib.import_module(f"hardware.{module_info.name}")
        for name, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, Exception) and obj.__module__.startswith("hardware"):
                found.append(name)
                assert issubclass(obj, DeviceError), f"{obj.__module__}.{name} is not a DeviceError"
    assert {"CameraError", "AudioDeviceError", "PrinterError", "CardReaderError"} <= set(found)
