"""Ticket printer: ESC/POS over USB, serial or the network (python-escpos), and a simulated printer.

The base class composes the ticket (ESC/POS through python-escpos),
enforces the limits and turns every driver failure into
:class:`PrinterError`; a driver only says where the bytes go
(:meth:`TicketPrinter._open`). The simulated printer keeps the bytes in
python-escpos' ``Dummy`` and writes them with a PNG preview of the slip,
so a headless kiosk and the tests print for real without paper.
python-escpos and Pillow are imported here only.
"""

from __future__ import annotations

import abc
import contextlib
import os
import re
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from hardware.health import DeviceError, DeviceHealth, DeviceUnavailableError

CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
_NUMBER = re.compile(r"^[A-Z]?\d{1,4}$")
MAX_LINE_CHARS = 64
PaperSensor = Literal["ok", "low", "out"]
_SENSOR: dict[int, PaperSensor] = {2: "ok", 1: "low", 0: "out"}


class PrinterError(DeviceError):
    """Printing failed (no paper, the printer went away, bad ticket data)."""


class OutOfPaperError(PrinterError):
    """The printer has no paper left."""


@dataclass(frozen=True, slots=True)
class TicketSlip:
    """What a queue ticket shows. No personal data: a number, a service and a time.

    Attributes:
        number: The ticket number, e.g. ``C012``.
        service: The counter service in Chinese, e.g. ``外汇业务``.
        service_en: The counter service in English (printed under it), e.g. ``Foreign exchange``.
        branch: The branch name (Chinese).
        branch_en: The branch name in English (printed under it).
        issued_at: Local time of issue, e.g. ``2026-11-27 10:42``.
        waiting: People ahead in the queue, if known.
    """

    number: str
    service: str
    service_en: str = ""
    branch: str = ""
    branch_en: str = ""
    issued_at: str = ""
    waiting: int | None = None

    def check(self) -> None:
        """Validate the slip.

        Raises:
            PrinterError: If the number or a line is not printable.
        """
        if not _NUMBER.match(self.number):
            raise PrinterError(f"ticket number {self.number!r} is not a letter and 1-4 digits")
        if self.waiting is not None and not 0 <= self.waiting < 10_000:
            raise PrinterError(f"ticket waiting count {self.waiting} is out of range")
        for name in ("service", "service_en", "branch", "branch_en", "issued_at"):
            value = getattr(self, name)
            if len(value) > MAX_LINE_CHARS or any(ord(ch) < 32 for ch in value):
                raise PrinterError(f"ticket {name} is too long or holds control characters")


@dataclass(frozen=True, slots=True)
class PrintedTicket:
    """A printed ticket: the ESC/POS bytes sent and, for the simulated printer, the files written."""

    number: str
    escpos_bytes: int
    data_path: Path | None = None
    preview_path: Path | None = None


class TicketPrinter(abc.ABC):
    """A ticket printer. Subclasses implement :meth:`_open` (and :meth:`_sent` for a simulation).

    Args:
        driver: Driver name shown on the admin page.
        paper_slips: Slips left on the roll, if the driver counts them (None: unknown).
        low_paper_slips: At or below this many slips left, health is ``paper_low``.
    """

    def __init__(self, driver: str, *, paper_slips: int | None = None, low_paper_slips: int = 20) -> None:
        self.driver = driver
        self.paper_slips = paper_slips
        self.low_paper_slips = low_paper_slips
        self.printed = 0
        self.sensor: PaperSensor | None = None
        self._lock = threading.Lock()
        self._last_error = ""

    def print_ticket(self, slip: TicketSlip) -> PrintedTicket:
        """Print one queue ticket (blocking: call it off the event loop).

        Raises:
            OutOfPaperError: If the roll is empty.
            PrinterError: If the slip is invalid or the printer fails.
        """
        slip.check()
        with self._lock:
            if self.paper_slips is not None and self.paper_slips <= 0:
                self._last_error = "out of paper"
                raise OutOfPaperError("the ticket printer is out of paper")
            printer = None
            try:
                printer = self._open()
                self._before(printer)
                _compose(printer, slip)
                result = self._sent(printer, slip)
            except PrinterError as err:
                self._last_error = str(err)
                raise
            except Exception as err:
                self._last_error = f"{type(err).__name__}: {err}"
                raise PrinterError(f"{self.driver}: cannot print ticket {slip.number}: {err}") from err
            finally:
                if printer is not None:
                    _close_quietly(printer)
            self._last_error = ""
            self.printed += 1
            if self.paper_slips is not None:
                self.paper_slips -= 1
            return result

    @property
    def out_of_paper(self) -> bool:
        """The roll is counted and empty."""
        return self.paper_slips is not None and self.paper_slips <= 0

    def refill(self, slips: int | None) -> None:
        """A new roll went in (staff said so): ``slips`` on it if this driver counts them; the last error is cleared."""
        with self._lock:
            self.paper_slips = None if slips is None else max(0, slips)
            self.sensor = None
            self._last_error = ""

    def health(self) -> DeviceHealth:
        """The printer's state for the admin page: ok, paper low, or degraded (out of paper, failing)."""
        if self.out_of_paper:
            return DeviceHealth(kind="printer", driver=self.driver, state="degraded", detail="out of paper")
        if self.sensor == "out":
            return DeviceHealth(kind="printer", driver=self.driver, state="degraded", detail="out of paper (sensor)")
        if self._last_error:
            return DeviceHealth(kind="printer", driver=self.driver, state="degraded", detail=self._last_error)
        if self.sensor == "low":
            return DeviceHealth(kind="printer", driver=self.driver, state="paper_low", detail="paper roll near its end")
        if self.paper_slips is not None and self.paper_slips <= self.low_paper_slips:
            return DeviceHealth(
                kind="printer", driver=self.driver, state="paper_low", detail=f"{self.paper_slips} slips left"
            )
        return DeviceHealth(kind="printer", driver=self.driver, state="ok")

    @abc.abstractmethod
    def _open(self) -> Any:
        """A python-escpos printer object to send one ticket to."""

    def _before(self, printer: Any) -> None:  # noqa: B027 - optional hook
        """Before the ticket is composed (a driver with a paper sensor refuses an empty roll here).

        Raises:
            OutOfPaperError: If the printer reports no paper.
        """

    def _sent(self, printer: Any, slip: TicketSlip) -> PrintedTicket:
        """After the ticket went to ``printer`` (a real printer sent it already)."""
        return PrintedTicket(number=slip.number, escpos_bytes=0)


def _close_quietly(printer: Any) -> None:
    with contextlib.suppress(Exception):  # the ticket went out; a failing close must not fail it
        printer.close()


def slip_lines(slip: TicketSlip) -> list[tuple[str, str]]:
    """The slip's lines, top to bottom, each with its style (``head``, ``number``, ``body``, ``small``).

    The ESC/POS bytes and the PNG preview are both drawn from these lines.
    """
    lines: list[tuple[str, str]] = []
    for branch in dict.fromkeys(b for b in (slip.branch, slip.branch_en) if b):
        lines.append(("head", branch))
    lines.append(("number", slip.number))
    for service in dict.fromkeys(s for s in (slip.service, slip.service_en) if s):
        lines.append(("body", service))
    if slip.waiting is not None:
        lines.append(("body", f"前面等候 Waiting ahead: {slip.waiting}"))
    if slip.issued_at:
        lines.append(("small", slip.issued_at))
    lines.append(("small", "请留意叫号 Please wait for your number"))
    return lines


def _compose(p: Any, slip: TicketSlip) -> None:
    """The ticket as ESC/POS commands: branch, big number, service, waiting, time, QR code, cut."""
    for style, text in slip_lines(slip):
        if style == "head":
            p.set(align="center", bold=True, normal_textsize=True)
        elif style == "number":
            p.set(align="center", bold=True, double_height=True, double_width=True)
        else:
            p.set(align="center", bold=False, normal_textsize=True)
        p.text(text + "\n")
    p.qr(slip.number, size=6, native=True)
    p.cut()


class SimulatedPrinter(TicketPrinter):
    """Writes each ticket's ESC/POS bytes (``ticket-NNNN-<number>.bin``) and a PNG preview to a folder.

    Args:
        out_dir: Where tickets go; None keeps only the bytes in memory (``last_bytes``).
        paper_slips: Slips on the simulated roll.
        low_paper_slips: ``paper_low`` at or below this many.
        preview: Write a PNG preview of each slip.
    """

    def __init__(
        self, out_dir: Path | None = None, *, paper_slips: int = 500, low_paper_slips: int = 20, preview: bool = True
    ) -> None:
        super().__init__("simulated", paper_slips=paper_slips, low_paper_slips=low_paper_slips)
        self.out_dir = out_dir
        self.preview = preview
        self.last_bytes = b""
        self.tickets: list[PrintedTicket] = []

    def _open(self) -> Any:
        try:
            from escpos.printer import Dummy  # type: ignore[import-untyped]
        except ImportError as err:
            raise DeviceUnavailableError(f"python-escpos is not installed: {err}") from err
        return Dummy()

    def _sent(self, printer: Any, slip: TicketSlip) -> PrintedTicket:
        data = bytes(printer.output)
        self.last_bytes = data
        data_path = preview_path = None
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            stem = f"ticket-{self.printed + 1:04d}-{slip.number}"
            data_path = self.out_dir / f"{stem}.bin"
            _write_atomic(data_path, data)
            if self.preview:
                preview_path = self.out_dir / f"{stem}.png"
                _write_atomic(preview_path, render_preview(slip))
        ticket = PrintedTicket(slip.number, len(data), data_path, preview_path)
        self.tickets.append(ticket)
        return ticket


Connection = Literal["usb", "serial", "network", "file"]


class EscposPrinter(TicketPrinter):
    """A real ESC/POS printer through python-escpos.

    Args:
        connection: ``usb`` (vendor and product id), ``serial`` (device path),
            ``network`` (host[:port]) or ``file`` (a device file such as /dev/usb/lp0).
        address: ``"0x04b8:0x0202"`` for USB, the device path, ``host`` or ``host:port``, or the file path.
        timeout_s: Network connect timeout.
        profile: python-escpos printer profile name (e.g. ``TM-T88V``), if known.
        paper_sensor: Ask the printer for its paper sensor (ESC/POS ``DLE EOT 4``) before and after each
            ticket: near the end of the roll is ``paper_low``, no paper refuses the ticket. For printers
            that answer status queries (network and serial connections).
        status_timeout_s: How long to wait for the sensor's answer; no answer leaves the state unknown.

    Raises:
        DeviceUnavailableError: If the connection kind's driver (pyusb, pyserial) is not installed
            or the address is malformed.
    """

    def __init__(
        self,
        connection: Connection,
        address: str,
        *,
        timeout_s: float = 3.0,
        profile: str | None = None,
        paper_sensor: bool = False,
        status_timeout_s: float = 1.0,
    ):
        super().__init__(f"escpos-{connection}")
        self.paper_sensor = paper_sensor
        self.status_timeout_s = status_timeout_s
        self.connection = connection
        self.address = address
        self.timeout_s = timeout_s
        self.profile = profile
        self._factory = self._make_factory()

    def _make_factory(self) -> Any:
        try:
            from escpos import printer as escpos_printer  # type: ignore[import-untyped]
        except ImportError as err:
            raise DeviceUnavailableError(f"python-escpos is not installed: {err}") from err
        profile = {"profile": self.profile} if self.profile else {}
        if self.connection == "usb":
            if not escpos_printer.Usb.is_usable():
                raise DeviceUnavailableError("USB printers need pyusb (pip install python-escpos[usb])")
            match = re.fullmatch(r"(0x[0-9a-fA-F]{1,4}):(0x[0-9a-fA-F]{1,4})", self.address)
            if match is None:
                raise DeviceUnavailableError(f"USB printer address {self.address!r} is not '0xVVVV:0xPPPP'")
            vendor, product = int(match.group(1), 16), int(match.group(2), 16)
            return lambda: escpos_printer.Usb(vendor, product, **profile)
        if self.connection == "serial":
            if not escpos_printer.Serial.is_usable():
                raise DeviceUnavailableError("serial printers need pyserial (pip install python-escpos[serial])")
            return lambda: escpos_printer.Serial(devfile=self.address, **profile)
        if self.connection == "network":
            host, _, port = self.address.partition(":")
            if not host or (port and not port.isdigit()):
                raise DeviceUnavailableError(f"network printer address {self.address!r} is not 'host[:port]'")
            return lambda: escpos_printer.Network(host, port=int(port or 9100), timeout=self.timeout_s, **profile)
        if self.connection == "file":
            return lambda: escpos_printer.File(devfile=self.address, **profile)
        raise DeviceUnavailableError(f"unknown printer connection {self.connection!r}")

    def _open(self) -> Any:
        printer = self._factory()
        printer.open()
        return printer

    def _read_sensor(self, printer: Any) -> PaperSensor | None:
        """The paper sensor's state, or None when the printer does not answer in time."""
        device = getattr(printer, "device", None)
        if device is not None and hasattr(device, "settimeout"):
            device.settimeout(self.status_timeout_s)
        try:
            return _SENSOR.get(int(printer.paper_status()))
        except Exception:  # noqa: BLE001 - a printer that does not answer status queries: unknown
            return None

    def _before(self, printer: Any) -> None:
        if not self.paper_sensor:
            return
        self.sensor = self._read_sensor(printer)
        if self.sensor == "out":
            raise OutOfPaperError("the ticket printer is out of paper (paper sensor)")
        device = getattr(printer, "device", None)
        if device is not None and hasattr(device, "settimeout"):
            device.settimeout(self.timeout_s)

    def _sent(self, printer: Any, slip: TicketSlip) -> PrintedTicket:
        if self.paper_sensor:
            self.sensor = self._read_sensor(printer)
        return PrintedTicket(number=slip.number, escpos_bytes=0)


def render_preview(slip: TicketSlip, width: int = 384) -> bytes:
    """A PNG picture of the slip as a 58 mm printer would print it (384 dots wide).

    Raises:
        PrinterError: If Pillow or the CJK font is missing.
    """
    try:
        import io

        import qrcode  # type: ignore[import-untyped]
        from PIL import Image, ImageDraw, ImageFont
    except ImportError as err:
        raise PrinterError(f"ticket preview needs Pillow and qrcode: {err}") from err
    try:
        font = ImageFont.truetype(str(CJK_FONT), 22)
        big = ImageFont.truetype(str(CJK_FONT), 72)
        small = ImageFont.truetype(str(CJK_FONT), 16)
    except OSError as err:
        raise PrinterError(f"ticket preview font missing: {CJK_FONT} (install fonts-wqy-microhei)") from err
    qr = qrcode.QRCode(box_size=5, border=1)
    qr.add_data(slip.number)
    qr_img = qr.make_image(fill_color="black", back_color="white").get_image().convert("L")
    fonts = {"head": font, "number": big, "body": font, "small": small}
    lines: list[tuple[str, Any]] = []
    for style, text in slip_lines(slip):
        f = fonts[style]
        if f.getlength(text) > width - 16:  # a long English name: the small font still fits a 58 mm slip
            f = small
        lines.append((text, f))
    heights = [f.getbbox(text or " ")[3] + 12 for text, f in lines]
    height = 24 + sum(heights) + qr_img.height + 40
    img = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(img)
    y = 16
    for (text, f), h in zip(lines, heights, strict=True):
        w = draw.textlength(text, font=f)
        draw.text(((width - w) / 2, y), text, font=f, fill=0)
        y += h
    img.paste(qr_img, ((width - qr_img.width) // 2, y + 8))
    draw.line((8, height - 8, width - 8, height - 8), fill=0, width=1)  # the cut
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.chmod(tmp, 0o644)  # a ticket is no secret: staff tools may read it
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
