"""Opening the kiosk's devices from the configuration; a device that fails is left out, not the kiosk."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from hardware import DRIVERS, NONE, Camera, DeviceHealth, DeviceKind, DriverKind, DriverOptions

if TYPE_CHECKING:
    from hardware import CardReader, Microphone, Speaker, TicketPrinter
    from kiosk.runtime.config import DevicesConfig

_LOG = logging.getLogger(__name__)


def face_photo() -> npt.NDArray[np.uint8]:
    """The built-in demo customer: matplotlib's sample portrait (Grace Hopper), as RGB.

    Raises:
        FileNotFoundError: If matplotlib's sample data is not installed.
    """
    import cv2
    from matplotlib import cbook

    path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    bgr = cv2.imread(str(path))
    if bgr is None:
        raise FileNotFoundError(f"cannot read the sample photo {path}")
    rgb: npt.NDArray[np.uint8] = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    return rgb


@dataclass
class Devices:
    """The devices the kiosk runs with; any of them may be missing."""

    camera: Camera | None = None
    microphone: str = "none"
    mic: Microphone | None = None  # the opened microphone the runtime listens on (None: voice by upload only)
    speaker: Speaker | None = None
    printer: TicketPrinter | None = None
    card_reader: CardReader | None = None
    drivers: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    def health(self) -> list[DeviceHealth]:
        """Every device's state: missing ones with the reason."""
        out: list[DeviceHealth] = []
        kinds: tuple[DeviceKind, ...] = ("camera", "microphone", "speaker", "printer", "card_reader")
        for kind in kinds:
            if kind in self.missing:
                out.append(
                    DeviceHealth(
                        kind=kind, driver=self.drivers.get(kind, "none"), state="missing", detail=self.missing[kind]
                    )
                )
            elif kind == "printer" and self.printer is not None:
                out.append(self.printer.health())
            elif kind == "card_reader" and self.card_reader is not None:
                out.append(self.card_reader.health())
            else:
                out.append(DeviceHealth(kind=kind, driver=self.drivers.get(kind, "none"), state="ok"))
        return out

    def close(self) -> None:
        """Release every device."""
        for device in (self.camera, self.mic, self.speaker, self.card_reader):
            if device is not None:
                try:
                    device.close()
                except Exception:  # noqa: BLE001 - a device that fails to close must not stop the others
                    _LOG.exception("closing %s failed", type(device).__name__)


def open_devices(config: DevicesConfig, ticket_dir: Path | None = None) -> Devices:
    """Open each configured device through the driver registry; one that fails is recorded as missing.

    Args:
        config: Which driver each device uses.
        ticket_dir: Where the simulated printer writes tickets (None: memory only).
    """
    specs: dict[DriverKind, str] = {
        "camera": config.camera,
        "microphone": config.microphone,
        "speaker": config.speaker,
        "printer": config.printer,
        "card_reader": config.card_reader,
    }
    devices = Devices(drivers={str(kind): spec for kind, spec in specs.items()})
    options = DriverOptions(
        ticket_dir=ticket_dir,
        paper_slips=config.paper_slips,
        low_paper_slips=config.paper_low_slips,
        printer_paper_sensor=config.printer_paper_sensor,
    )
    for kind, spec in specs.items():
        if kind == "microphone" and spec != NONE:
            devices.microphone = spec
        try:
            device = DRIVERS[kind].open(spec, options)
        except Exception as err:  # noqa: BLE001 - an unknown or broken device fails that device, not the kiosk
            _LOG.error("%s %r is not available: %s", kind, spec, err)
            devices.missing[kind] = f"{type(err).__name__}: {err}"
            continue
        if device is None:
            devices.missing[kind] = "not configured"
        else:
            setattr(devices, "mic" if kind == "microphone" else kind, device)
    return devices
