"""Opening the kiosk's devices from the configuration; a device that fails is left out, not the kiosk."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from hardware.camera import Camera, Frame
from hardware.health import DeviceHealth, DeviceKind

if TYPE_CHECKING:
    from hardware.audio import Microphone, Speaker
    from hardware.card_reader import CardReader
    from hardware.printer import TicketPrinter
    from kiosk.runtime.config import DevicesConfig

_LOG = logging.getLogger(__name__)


def lobby_frame(width: int = 640, height: int = 480) -> npt.NDArray[np.uint8]:
    """An empty lobby wall (a soft gradient, no face)."""
    ramp = np.linspace(150, 210, width, dtype=np.uint8)
    return np.ascontiguousarray(np.broadcast_to(ramp[None, :, None], (height, width, 3)))


class SceneCamera(Camera):
    """A simulated camera showing whatever scene is set (the empty lobby until someone "walks up").

    Frames go through the real face detector; only the scene is simulated.
    ``show`` is thread-safe.
    """

    def __init__(self, empty: npt.NDArray[np.uint8] | None = None) -> None:
        self._empty = lobby_frame() if empty is None else empty
        self._scene = self._empty
        self._lock = threading.Lock()
        self._n = 0

    def show(self, rgb: npt.NDArray[np.uint8] | None) -> None:
        """Show ``rgb`` from now on; None shows the empty lobby again."""
        with self._lock:
            self._scene = self._empty if rgb is None else rgb

    @property
    def scene(self) -> npt.NDArray[np.uint8] | None:
        """What the camera shows now (None: the empty lobby)."""
        with self._lock:
            return None if self._scene is self._empty else self._scene

    def _read(self) -> Frame | None:
        with self._lock:
            self._n += 1
            return Frame(rgb=self._scene, t_ms=0.0, source="scene")


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


def _camera(spec: str) -> Camera:
    from hardware.camera import OpenCVCamera, open_source

    if spec == "simulated":
        return SceneCamera()
    if spec.startswith("opencv:"):
        return OpenCVCamera(int(spec.split(":", 1)[1]))
    return open_source(Path(spec))


def _printer(config: DevicesConfig, out_dir: Path | None) -> TicketPrinter:
    from hardware.printer import EscposPrinter, SimulatedPrinter

    spec = config.printer
    if spec == "simulated":
        return SimulatedPrinter(out_dir, paper_slips=config.paper_slips, low_paper_slips=config.paper_low_slips)
    parts = spec.split(":", 2)
    if len(parts) == 3 and parts[0] == "escpos" and parts[1] in ("usb", "serial", "network", "file"):
        return EscposPrinter(parts[1], parts[2], paper_sensor=config.printer_paper_sensor)  # type: ignore[arg-type]
    raise ValueError(f"unknown printer {spec!r}")


def _speaker(spec: str) -> Speaker:
    from hardware.audio import SounddeviceSpeaker, WavFileSpeaker

    if spec == "simulated":
        return WavFileSpeaker(realtime=True)
    if spec == "sounddevice":
        return SounddeviceSpeaker()
    raise ValueError(f"unknown speaker {spec!r}")


def _microphone(spec: str) -> Microphone:
    from hardware.audio import SimulatedMicrophone, SounddeviceMicrophone

    if spec == "simulated":
        return SimulatedMicrophone(realtime=True)  # a quiet lobby; WAV files are spoken into it
    return SounddeviceMicrophone()


def _card_reader(spec: str) -> CardReader:
    from hardware.card_reader import SimulatedCardReader

    if spec == "simulated":
        return SimulatedCardReader()
    raise ValueError(f"unknown card reader {spec!r}")


def open_devices(config: DevicesConfig, ticket_dir: Path | None = None) -> Devices:
    """Open each configured device; one that fails is recorded as missing and left out.

    Args:
        config: Which driver each device uses.
        ticket_dir: Where the simulated printer writes tickets (None: memory only).
    """
    devices = Devices(
        drivers={
            "camera": config.camera,
            "microphone": config.microphone,
            "speaker": config.speaker,
            "printer": config.printer,
            "card_reader": config.card_reader,
        }
    )
    openers: dict[str, Any] = {
        "camera": lambda: _camera(config.camera),
        "speaker": lambda: _speaker(config.speaker),
        "printer": lambda: _printer(config, ticket_dir),
        "card_reader": lambda: _card_reader(config.card_reader),
    }
    for kind, opener in openers.items():
        spec = getattr(config, kind)
        if spec == "none":
            devices.missing[kind] = "not configured"
            continue
        try:
            setattr(devices, kind, opener())
        except Exception as err:  # noqa: BLE001 - an unknown or broken device fails that device, not the kiosk
            _LOG.error("%s %r is not available: %s", kind, spec, err)
            devices.missing[kind] = f"{type(err).__name__}: {err}"
    if config.microphone in ("simulated", "sounddevice"):
        devices.microphone = config.microphone
        try:
            devices.mic = _microphone(config.microphone)
        except Exception as err:  # noqa: BLE001 - no microphone: touch (and uploaded voice) still work
            _LOG.error("microphone %r is not available: %s", config.microphone, err)
            devices.missing["microphone"] = f"{type(err).__name__}: {err}"
    else:
        devices.missing["microphone"] = "not configured" if config.microphone == "none" else "unknown driver"
    return devices
