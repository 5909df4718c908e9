"""The driver registry: which driver opens each kind of device, looked up by name.

A device is configured by a spec string, ``NAME`` or ``NAME:ARGUMENT``
(``simulated``, ``opencv:0``, ``file:/srv/lobby.mp4``,
``escpos:network:10.0.0.7``); ``none`` leaves the device out. Each kind
(camera, microphone, speaker, printer, card reader) has one table of
drivers; :meth:`DriverTable.check` validates a spec without opening
anything (the runtime settings do this when they are read), and
:meth:`DriverTable.open` opens the device. An unknown name raises
:class:`~hardware.errors.UnknownDriverError`, whose message lists the
known names. Driver modules are imported only when a driver is opened.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeAlias, TypeVar

from hardware.errors import DriverSpecError, UnknownDriverError

if TYPE_CHECKING:
    from hardware.audio import Microphone, Speaker
    from hardware.camera import Camera
    from hardware.card_reader import CardReader
    from hardware.printer import TicketPrinter

DriverKind: TypeAlias = Literal["camera", "microphone", "speaker", "printer", "card_reader"]
NONE = "none"
T = TypeVar("T")


@dataclass(frozen=True)
class DriverOptions:
    """Settings some drivers need besides their spec (the runtime passes its device settings)."""

    ticket_dir: Path | None = None
    paper_slips: int = 500
    low_paper_slips: int = 20
    printer_paper_sensor: bool = False
    realtime: bool = True


@dataclass(frozen=True)
class Driver(Generic[T]):
    """One registered driver: its name, what its argument is, how to check it and how to open it."""

    name: str
    factory: Callable[[str, DriverOptions], T]
    help: str
    argument: str = ""  # what follows ``NAME:`` ('' when the driver takes none)
    validate: Callable[[str], None] | None = None


class DriverTable(Generic[T]):
    """The drivers of one device kind.

    Args:
        kind: The device kind (used in error messages).
        path_driver: A driver that a bare path (containing ``/``) stands for, as in ``camera = "/srv/frames"``.
    """

    def __init__(self, kind: DriverKind, *, path_driver: str = "") -> None:
        self.kind = kind
        self.path_driver = path_driver
        self._drivers: dict[str, Driver[T]] = {}

    def register(
        self,
        name: str,
        factory: Callable[[str, DriverOptions], T],
        *,
        help: str,
        argument: str = "",
        validate: Callable[[str], None] | None = None,
    ) -> None:
        """Add a driver under ``name``.

        Raises:
            ValueError: If the name is taken, is ``none``, or is not a plain lowercase word.
        """
        if name == NONE or name in self._drivers:
            raise ValueError(f"{self.kind} driver {name!r} is already registered")
        if not name or ":" in name or "/" in name or name != name.strip().lower():
            raise ValueError(f"bad {self.kind} driver name {name!r}")
        self._drivers[name] = Driver(name, factory, help, argument, validate)

    def names(self) -> tuple[str, ...]:
        """Every name a spec may use, ``none`` included, sorted."""
        return tuple(sorted([NONE, *self._drivers]))

    def resolve(self, spec: str) -> tuple[Driver[T], str] | None:
        """The driver a spec names and its argument; None for ``none``.

        Raises:
            UnknownDriverError: If no driver has that name.
            DriverSpecError: If the driver's argument is missing or malformed.
        """
        spec = spec.strip()
        if spec == NONE:
            return None
        name, _, argument = spec.partition(":")
        driver = self._drivers.get(name)
        if driver is None and self.path_driver and "/" in spec:
            driver, argument = self._drivers.get(self.path_driver), spec
        if driver is None:
            raise UnknownDriverError(self.kind, name, self.names())
        if driver.argument and not argument:
            raise DriverSpecError(f"{self.kind} driver {driver.name!r} needs '{driver.name}:{driver.argument}'")
        if not driver.argument and argument:
            raise DriverSpecError(f"{self.kind} driver {driver.name!r} takes no argument (got {argument!r})")
        if driver.validate is not None:
            driver.validate(argument)
        return driver, argument

    def check(self, spec: str) -> None:
        """Validate ``spec`` without opening anything.

        Raises:
            UnknownDriverError: If no driver has that name.
            DriverSpecError: If the driver's argument is missing or malformed.
        """
        self.resolve(spec)

    def open(self, spec: str, options: DriverOptions | None = None) -> T | None:
        """Open the device ``spec`` names; None for ``none``.

        Raises:
            DriverSpecError: If the spec is wrong (:class:`UnknownDriverError` for an unknown name).
            DeviceError: Or another error of the driver, if the device cannot be opened.
        """
        found = self.resolve(spec)
        if found is None:
            return None
        driver, argument = found
        return driver.factory(argument, options or DriverOptions())


# --- the built-in drivers (each imports its module only when opened) ---


def _scene_camera(_: str, __: DriverOptions) -> Camera:
    from hardware.camera import SceneCamera

    return SceneCamera()


def _opencv_camera(argument: str, _: DriverOptions) -> Camera:
    from hardware.camera import OpenCVCamera

    return OpenCVCamera(int(argument))


def _check_index(argument: str) -> None:
    if not argument.isdigit():
        raise DriverSpecError(f"camera driver 'opencv' needs a device index, as in 'opencv:0' (got {argument!r})")


def _file_camera(argument: str, _: DriverOptions) -> Camera:
    from hardware.camera import open_source

    return open_source(Path(argument))


def _simulated_microphone(_: str, options: DriverOptions) -> Microphone:
    from hardware.audio import SimulatedMicrophone

    return SimulatedMicrophone(realtime=options.realtime)  # a quiet lobby; WAV files are spoken into it


def _sounddevice_microphone(_: str, __: DriverOptions) -> Microphone:
    from hardware.audio import SounddeviceMicrophone

    return SounddeviceMicrophone()


def _simulated_speaker(_: str, options: DriverOptions) -> Speaker:
    from hardware.audio import WavFileSpeaker

    return WavFileSpeaker(realtime=options.realtime)


def _sounddevice_speaker(_: str, __: DriverOptions) -> Speaker:
    from hardware.audio import SounddeviceSpeaker

    return SounddeviceSpeaker()


def _simulated_printer(_: str, options: DriverOptions) -> TicketPrinter:
    from hardware.printer import SimulatedPrinter

    return SimulatedPrinter(
        options.ticket_dir, paper_slips=options.paper_slips, low_paper_slips=options.low_paper_slips
    )


_CONNECTIONS = ("usb", "serial", "network", "file")


def _check_escpos(argument: str) -> None:
    connection, _, address = argument.partition(":")
    if connection not in _CONNECTIONS or not address:
        raise DriverSpecError(
            f"printer driver 'escpos' needs 'escpos:CONNECTION:ADDRESS' with CONNECTION one of "
            f"{', '.join(_CONNECTIONS)} (got {argument!r})"
        )


def _escpos_printer(argument: str, options: DriverOptions) -> TicketPrinter:
    from hardware.printer import EscposPrinter

    connection, _, address = argument.partition(":")
    return EscposPrinter(connection, address, paper_sensor=options.printer_paper_sensor)  # type: ignore[arg-type]


def _simulated_card_reader(_: str, __: DriverOptions) -> CardReader:
    from hardware.card_reader import SimulatedCardReader

    return SimulatedCardReader()


CAMERAS: DriverTable[Camera] = DriverTable("camera", path_driver="file")
CAMERAS.register("simulated", _scene_camera, help="an empty lobby until a scene is shown")
CAMERAS.register("opencv", _opencv_camera, help="a camera by index", argument="INDEX", validate=_check_index)
CAMERAS.register("file", _file_camera, help="an image, a folder of images or a video file", argument="PATH")
MICROPHONES: DriverTable[Microphone] = DriverTable("microphone")
MICROPHONES.register("simulated", _simulated_microphone, help="a quiet lobby into which WAV files are spoken")
MICROPHONES.register("sounddevice", _sounddevice_microphone, help="the default input device (PortAudio)")
SPEAKERS: DriverTable[Speaker] = DriverTable("speaker")
SPEAKERS.register("simulated", _simulated_speaker, help="paced like speech, not heard")
SPEAKERS.register("sounddevice", _sounddevice_speaker, help="the default output device (PortAudio)")
PRINTERS: DriverTable[TicketPrinter] = DriverTable("printer")
PRINTERS.register("simulated", _simulated_printer, help="tickets written as ESC/POS bytes and PNG previews")
PRINTERS.register(
    "escpos", _escpos_printer, help="an ESC/POS printer", argument="CONNECTION:ADDRESS", validate=_check_escpos
)
CARD_READERS: DriverTable[CardReader] = DriverTable("card_reader")
CARD_READERS.register("simulated", _simulated_card_reader, help="cards inserted from the local page")

DRIVERS: Mapping[DriverKind, DriverTable[Any]] = {
    "camera": CAMERAS,
    "microphone": MICROPHONES,
    "speaker": SPEAKERS,
    "printer": PRINTERS,
    "card_reader": CARD_READERS,
}


def check_driver(kind: DriverKind, spec: str) -> None:
    """Validate a device spec of ``kind`` without opening it.

    Raises:
        UnknownDriverError: If no driver of ``kind`` has that name (the message lists the known ones).
        DriverSpecError: If the driver's argument is missing or malformed.
    """
    DRIVERS[kind].check(spec)
