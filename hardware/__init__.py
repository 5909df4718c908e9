"""Device interfaces and drivers, each with a simulated driver for tests and demos.

Microphone, speaker, camera, printer and card reader. Drivers are chosen by
name through the driver registry (:mod:`hardware.registry`); every device
error is a :class:`DeviceError`.
"""

from hardware.audio import (
    AudioDeviceError,
    DuplexGate,
    DuplexSettings,
    Microphone,
    SimulatedMicrophone,
    Speaker,
    WavFileMicrophone,
    WavFileSpeaker,
)
from hardware.camera import Camera, CameraError, Frame, SceneCamera, open_source
from hardware.card_reader import CardReader, CardReaderError, SimulatedCardReader
from hardware.errors import DeviceError, DeviceUnavailableError, DriverSpecError, UnknownDriverError
from hardware.health import DeviceHealth, DeviceKind
from hardware.printer import OutOfPaperError, PrinterError, TicketPrinter, TicketSlip
from hardware.registry import DRIVERS, NONE, DriverKind, DriverOptions, DriverTable, check_driver

__all__ = [
    "DRIVERS",
    "NONE",
    "AudioDeviceError",
    "Camera",
    "CameraError",
    "CardReader",
    "CardReaderError",
    "DeviceError",
    "DeviceHealth",
    "DeviceKind",
    "DeviceUnavailableError",
    "DriverKind",
    "DriverOptions",
    "DriverSpecError",
    "DriverTable",
    "DuplexGate",
    "DuplexSettings",
    "Frame",
    "Microphone",
    "OutOfPaperError",
    "PrinterError",
    "SceneCamera",
    "SimulatedCardReader",
    "SimulatedMicrophone",
    "Speaker",
    "TicketPrinter",
    "TicketSlip",
    "UnknownDriverError",
    "WavFileMicrophone",
    "WavFileSpeaker",
    "check_driver",
    "open_source",
]
