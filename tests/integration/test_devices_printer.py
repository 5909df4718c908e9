"""The ticket printer (real python-escpos bytes, a real PNG preview) and the simulated card reader."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from hardware.card_reader import CardReaderError, SimulatedCardReader, mask_pan
from hardware.health import DeviceUnavailableError
from hardware.printer import EscposPrinter, OutOfPaperError, PrinterError, SimulatedPrinter, TicketSlip

SLIP = TicketSlip(
    number="A012",
    service="排队取号",
    service_en="Queue ticket",
    branch="示范支行",
    issued_at="2026-11-27 10:42",
    waiting=3,
)
FOREX = TicketSlip(
    number="C007",
    service="外汇业务",
    service_en="Foreign exchange",
    branch="演示银行滨江支行",
    branch_en="Demo Bank Riverside Branch",
    issued_at="2026-11-27 10:42",
    waiting=2,
)


def test_the_slip_names_the_service_branch_time_and_queue(tmp_path: Path) -> None:
    printer = SimulatedPrinter(tmp_path)
    ticket = printer.print_ticket(FOREX)
    assert ticket.data_path is not None
    data = ticket.data_path.read_bytes()
    order = [
        data.index("演示银行滨江支行".encode("gb18030")),
        data.index(b"Demo Bank Riverside Branch"),
        data.index(b"C007"),
        data.index("外汇业务".encode("gb18030")),
        data.index(b"Foreign exchange"),
        data.index("前面等候".encode("gb18030")),
        data.index(b"2026-11-27 10:42"),
    ]
    assert order == sorted(order)  # printed top to bottom in that order
    assert b"Waiting ahead: 2" in data
    assert data.index(b"\x1d(k") > order[-1]  # the QR code under the text, then the cut
    # The preview is drawn from the same lines: another service draws another picture, one more line a taller one.
    from hardware.printer import render_preview, slip_lines

    assert ("body", "Foreign exchange") in slip_lines(FOREX)
    assert render_preview(FOREX) != render_preview(replace(FOREX, service="现金存取款", service_en="Cash"))
    from io import BytesIO

    from PIL import Image

    with (
        Image.open(BytesIO(render_preview(FOREX))) as with_queue,
        Image.open(BytesIO(render_preview(replace(FOREX, waiting=None)))) as without,
    ):
        assert with_queue.height > without.height


def test_simulated_printer_writes_escpos_and_a_preview(tmp_path: Path) -> None:
    printer = SimulatedPrinter(tmp_path, paper_slips=50)
    ticket = printer.print_ticket(SLIP)
    assert ticket.data_path is not None
    assert ticket.preview_path is not None
    data = ticket.data_path.read_bytes()
    assert data == printer.last_bytes
    assert ticket.escpos_bytes == len(data)
    assert data.startswith(b"\x1b")  # ESC/POS commands
    assert b"A012" in data
    assert "排队取号".encode("gb18030") in data  # Chinese in the printer's code page
    assert b"\x1dV" in data  # the cut
    assert b"\x1d(k" in data  # a native QR code
    png = ticket.preview_path.read_bytes()
    assert png.startswith(b"\x89PNG")
    from PIL import Image

    with Image.open(ticket.preview_path) as img:
        assert img.width == 384
        assert img.height > 200
        assert img.convert("L").getextrema()[0] == 0  # something black was printed
    assert printer.health().state == "ok"


def test_paper_runs_low_then_out(tmp_path: Path) -> None:
    printer = SimulatedPrinter(None, paper_slips=3, low_paper_slips=2)
    printer.print_ticket(SLIP)
    health = printer.health()
    assert (health.state, health.detail) == ("paper_low", "2 slips left")
    printer.print_ticket(SLIP)
    printer.print_ticket(SLIP)
    with pytest.raises(OutOfPaperError):
        printer.print_ticket(SLIP)
    assert printer.health().state == "degraded"
    assert printer.printed == 3


@pytest.mark.parametrize(
    "slip",
    [
        TicketSlip(number="12345", service="x"),
        TicketSlip(number="A1", service="a\x1bb"),
        TicketSlip(number="A1", service="x" * 100),
    ],
    ids=["long-number", "control-char", "long-line"],
)
def test_bad_slips_are_rejected(slip: TicketSlip) -> None:
    with pytest.raises(PrinterError):
        SimulatedPrinter().print_ticket(slip)


def test_network_printer_that_is_not_there_fails_clearly() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    printer = EscposPrinter("network", f"127.0.0.1:{port}", timeout_s=1.0)
    with pytest.raises(PrinterError, match="cannot print ticket A012"):
        printer.print_ticket(SLIP)
    assert printer.health().state == "degraded"


@contextmanager
def one_connection() -> Iterator[tuple[int, bytearray]]:
    """A TCP port that takes one connection and keeps what is sent (a printer that never answers)."""
    received = bytearray()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(5)

    def accept() -> None:
        conn, _ = server.accept()
        conn.settimeout(5)
        with conn:
            while chunk := conn.recv(4096):
                received.extend(chunk)

    thread = threading.Thread(target=accept)
    thread.start()
    try:
        yield server.getsockname()[1], received
    finally:
        thread.join(timeout=10)
        server.close()


def test_network_printer_sends_the_ticket_bytes() -> None:
    with one_connection() as (port, received):
        EscposPrinter("network", f"127.0.0.1:{port}").print_ticket(SLIP)
    assert b"A012" in received
    assert b"\x1dV" in received


@pytest.mark.parametrize(
    ("connection", "address", "message"),
    [("usb", "0x04b8:0x0202", "pyusb"), ("network", "host:port", "not 'host"), ("serial", "/dev/ttyS0", "pyserial")],
    ids=["usb-without-pyusb", "bad-address", "serial-without-pyserial"],
)
def test_unusable_printer_drivers_fail_that_device(connection: str, address: str, message: str) -> None:
    with pytest.raises(DeviceUnavailableError, match=message):
        EscposPrinter(connection, address)  # type: ignore[arg-type]


def test_card_reader_masks_and_reports_events() -> None:
    reader = SimulatedCardReader()
    assert reader.next_event(0.01) is None
    reader.insert("6222 0202 0011 2233")
    event = reader.next_event(1.0)
    assert event is not None
    assert (event.kind, event.masked) == ("inserted", "**** 2233")
    assert "6222" not in repr(event)
    assert reader.card_in
    reader.remove()
    removed = reader.next_event(1.0)
    assert removed is not None
    assert removed.kind == "removed"
    assert not reader.card_in
    with pytest.raises(CardReaderError, match="12 to 19 digits"):
        mask_pan("1234")
    assert reader.health().state == "ok"


class SensorPrinterServer:
    """A network ESC/POS printer on loopback that answers DLE EOT 4 (paper sensor) with ``status``."""

    QUERY = b"\x10\x04\x04"

    def __init__(self) -> None:
        import queue
        import threading

        self.status: bytes = b"\x12"  # paper adequate
        self._connections: queue.Queue[bytes] = queue.Queue()
        self._server = socket.socket()
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(4)
        self._server.settimeout(0.2)
        self.port = self._server.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            data = bytearray()
            with conn:
                conn.settimeout(5)
                while chunk := conn.recv(4096):
                    data.extend(chunk)
                    if data.endswith(self.QUERY):
                        conn.sendall(self.status)
            self._connections.put(bytes(data))

    def connection(self) -> bytes:
        """Everything the printer received over the next connection (waits for it to close)."""
        return self._connections.get(timeout=10)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._server.close()


@pytest.fixture
def sensor_printer() -> Iterator[SensorPrinterServer]:
    server = SensorPrinterServer()
    yield server
    server.close()


def test_a_network_printer_with_a_paper_sensor_reports_low_then_out(sensor_printer: SensorPrinterServer) -> None:
    printer = EscposPrinter("network", f"127.0.0.1:{sensor_printer.port}", paper_sensor=True)
    printer.print_ticket(FOREX)
    assert printer.health().state == "ok"
    first = sensor_printer.connection()
    assert first.count(SensorPrinterServer.QUERY) == 2  # asked before and after the ticket
    assert "外汇业务".encode("gb18030") in first
    sensor_printer.status = b"\x1e"  # the near-end sensor: the ticket still prints
    printer.print_ticket(FOREX)
    assert b"C007" in sensor_printer.connection()
    health = printer.health()
    assert (health.state, health.detail) == ("paper_low", "paper roll near its end")
    sensor_printer.status = b"\x72"  # no paper: the ticket is refused before anything is printed
    with pytest.raises(OutOfPaperError):
        printer.print_ticket(FOREX)
    assert sensor_printer.connection() == SensorPrinterServer.QUERY  # only the question, no ticket
    assert (printer.health().state, printer.health().detail) == ("degraded", "out of paper (sensor)")
    sensor_printer.status = b"\x12"  # a new roll: the next ticket prints and the state is ok again
    printer.print_ticket(FOREX)
    assert b"C007" in sensor_printer.connection()
    assert printer.health().state == "ok"
    assert printer.printed == 3


def test_a_printer_that_does_not_answer_the_sensor_query_still_prints() -> None:
    with one_connection() as (port, received):
        printer = EscposPrinter("network", f"127.0.0.1:{port}", paper_sensor=True, status_timeout_s=0.2)
        printer.print_ticket(FOREX)
    assert b"C007" in received
    assert printer.health().state == "ok"
    assert printer.sensor is None  # unknown, not "out"
