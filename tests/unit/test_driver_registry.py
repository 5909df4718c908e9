"""The driver registry: a device kind + driver name picks the factory; unknown names are refused with the known ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hardware import DRIVERS, DeviceError, DriverOptions, DriverSpecError, DriverTable, UnknownDriverError
from hardware.audio import SimulatedMicrophone, WavFileSpeaker
from hardware.camera import ImageFolderCamera, SceneCamera
from hardware.card_reader import SimulatedCardReader
from hardware.printer import SimulatedPrinter, TicketSlip
from kiosk.runtime.config import DevicesConfig
from kiosk.runtime.devices import open_devices


@pytest.mark.parametrize(
    ("kind", "spec", "known"),
    [
        ("camera", "v4l9", "file, none, opencv, simulated"),
        ("microphone", "alsa", "none, simulated, sounddevice"),
        ("speaker", "hdmi", "none, simulated, sounddevice"),
        ("printer", "zebra:usb:1", "escpos, none, simulated"),
        ("card_reader", "laser", "none, simulated"),
    ],
    ids=["camera", "microphone", "speaker", "printer", "card-reader"],
)
def test_an_unknown_driver_name_lists_the_known_ones(kind: str, spec: str, known: str) -> None:
    name = spec.partition(":")[0]
    with pytest.raises(UnknownDriverError, match=rf"unknown {kind} driver '{name}' \(known: {known}\)"):
        DRIVERS[kind].check(spec)  # type: ignore[index]


@pytest.mark.parametrize(
    ("kind", "spec", "message"),
    [
        ("camera", "opencv:front", "needs a device index"),
        ("camera", "opencv", "needs 'opencv:INDEX'"),
        ("camera", "simulated:2", "takes no argument"),
        ("printer", "escpos:bluetooth:AA", "CONNECTION one of usb, serial, network, file"),
        ("printer", "escpos:usb", "needs 'escpos:CONNECTION:ADDRESS'"),
    ],
    ids=["bad-index", "no-index", "unexpected-argument", "bad-connection", "no-address"],
)
def test_a_malformed_argument_is_refused(kind: str, spec: str, message: str) -> None:
    with pytest.raises(DriverSpecError, match=message):
        DRIVERS[kind].check(spec)  # type: ignore[index]


def test_the_errors_belong_to_the_one_device_error_tree() -> None:
    assert issubclass(UnknownDriverError, DriverSpecError)
    assert issubclass(DriverSpecError, DeviceError)


def test_none_opens_nothing_and_each_simulated_driver_opens_its_device(tmp_path: Path) -> None:
    assert all(table.open("none") is None for table in DRIVERS.values())
    options = DriverOptions(ticket_dir=tmp_path, paper_slips=7, realtime=False)
    camera = DRIVERS["camera"].open("simulated", options)
    assert isinstance(camera, SceneCamera)
    frame = camera.read()
    assert frame is not None
    assert frame.rgb.shape == (480, 640, 3)
    assert isinstance(DRIVERS["microphone"].open("simulated", options), SimulatedMicrophone)
    assert isinstance(DRIVERS["speaker"].open("simulated", options), WavFileSpeaker)
    assert isinstance(DRIVERS["card_reader"].open("simulated", options), SimulatedCardReader)
    printer = DRIVERS["printer"].open("simulated", options)
    assert isinstance(printer, SimulatedPrinter)
    assert printer.paper_slips == 7
    printer.print_ticket(TicketSlip(number="A012", service="存款", waiting=2))
    assert printer.paper_slips == 6
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".bin", ".png"]


def test_a_file_camera_reads_the_images_at_its_path_also_given_bare(tmp_path: Path) -> None:
    import cv2

    cv2.imwrite(str(tmp_path / "a.png"), np.full((60, 80, 3), 90, dtype=np.uint8))
    for spec in (f"file:{tmp_path}", str(tmp_path)):
        camera = DRIVERS["camera"].open(spec)
        assert isinstance(camera, ImageFolderCamera)
        frame = camera.read()
        assert frame is not None
        assert frame.rgb.shape == (60, 80, 3)


def test_a_driver_is_registered_once_under_a_plain_name() -> None:
    table: DriverTable[str] = DriverTable("card_reader")
    table.register("magstripe", lambda argument, _: f"reader on {argument}", help="test", argument="PORT")
    assert table.open("magstripe:/dev/ttyS1") == "reader on /dev/ttyS1"
    assert table.names() == ("magstripe", "none")
    for name in ("magstripe", "none", "Bad", "a:b", ""):
        with pytest.raises(ValueError, match="driver"):
            table.register(name, lambda argument, _: argument, help="again")


def test_the_settings_refuse_an_unknown_driver_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown card_reader driver 'laser' \(known: none, simulated\)"):
        DevicesConfig(card_reader="laser")


def test_open_devices_opens_through_the_registry_and_leaves_out_what_fails(tmp_path: Path) -> None:
    config = DevicesConfig(
        camera="none", microphone="simulated", speaker="none", printer="escpos:usb:0x04b8:0x0202", paper_slips=3
    )
    devices = open_devices(config, tmp_path)
    try:
        assert devices.camera is None
        assert devices.missing["camera"] == "not configured"
        assert isinstance(devices.mic, SimulatedMicrophone)
        assert devices.microphone == "simulated"
        assert isinstance(devices.card_reader, SimulatedCardReader)
        assert devices.printer is None
        assert devices.missing["printer"].startswith("DeviceUnavailableError")
        states = {h.kind: h.state for h in devices.health()}
        assert states == {
            "camera": "missing",
            "microphone": "ok",
            "speaker": "missing",
            "printer": "missing",
            "card_reader": "ok",
        }
    finally:
        devices.close()
