"""Card reader: insert and remove events. The number never leaves the reader unmasked.

The base class turns driver failures into :class:`CardReaderError` and masks
the card number before an event exists; a driver implements
:meth:`CardReader._next`. The simulated reader takes ``insert`` and
``remove`` calls (the demo and the tests; a staff "simulate" button).
"""

from __future__ import annotations

import abc
import queue
import re
from dataclasses import dataclass
from typing import Literal

from hardware.health import DeviceError, DeviceHealth

_PAN = re.compile(r"^\d{12,19}$")


class CardReaderError(DeviceError):
    """The card reader failed or gave something unreadable."""


@dataclass(frozen=True, slots=True)
class CardEvent:
    """A card went in or came out. ``masked`` shows the last four digits only (``**** 1234``)."""

    kind: Literal["inserted", "removed"]
    masked: str = ""


def mask_pan(pan: str) -> str:
    """``**** 1234`` for a card number of 12-19 digits (spaces and dashes allowed).

    Raises:
        CardReaderError: If it is not a card number.
    """
    digits = re.sub(r"[\s-]", "", pan)
    if not _PAN.match(digits):
        raise CardReaderError("a card number has 12 to 19 digits")
    return f"**** {digits[-4:]}"


class CardReader(abc.ABC):
    """A card reader; call :meth:`next_event` from a worker thread."""

    driver = "card-reader"

    def __init__(self) -> None:
        self.card_in = False
        self._error = ""

    def next_event(self, timeout_s: float) -> CardEvent | None:
        """The next event, or None after ``timeout_s`` without one.

        Raises:
            CardReaderError: If the driver fails.
        """
        try:
            event = self._next(timeout_s)
        except CardReaderError as err:
            self._error = str(err)
            raise
        except Exception as err:
            self._error = f"{type(err).__name__}: {err}"
            raise CardReaderError(f"{self.driver}: {err}") from err
        self._error = ""
        if event is not None:
            self.card_in = event.kind == "inserted"
        return event

    def health(self) -> DeviceHealth:
        """The reader's state for the admin page."""
        if self._error:
            return DeviceHealth(kind="card_reader", driver=self.driver, state="degraded", detail=self._error)
        return DeviceHealth(kind="card_reader", driver=self.driver, state="ok")

    @abc.abstractmethod
    def _next(self, timeout_s: float) -> CardEvent | None:
        """Wait up to ``timeout_s`` for an event (driver-specific)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the device."""


class SimulatedCardReader(CardReader):
    """Insert and remove cards by calling :meth:`insert` and :meth:`remove` (thread-safe)."""

    driver = "simulated"

    def __init__(self) -> None:
        super().__init__()
        self._events: queue.Queue[CardEvent] = queue.Queue(maxsize=64)
        self._fault = ""

    def fail_next(self, message: str = "card reader disconnected") -> None:
        """Make the next read fail as a broken driver would (demos and tests of the supervisor)."""
        self._fault = message

    def insert(self, pan: str) -> None:
        """A card with number ``pan`` goes in (only its masked form is kept).

        Raises:
            CardReaderError: If ``pan`` is not a card number or too many events wait.
        """
        self._put(CardEvent("inserted", mask_pan(pan)))

    def remove(self) -> None:
        """The card comes out."""
        self._put(CardEvent("removed"))

    def _put(self, event: CardEvent) -> None:
        try:
            self._events.put_nowait(event)
        except queue.Full as err:
            raise CardReaderError("too many card events waiting") from err

    def _next(self, timeout_s: float) -> CardEvent | None:
        if self._fault:
            message, self._fault = self._fault, ""
            raise OSError(message)
        try:
            return self._events.get(timeout=max(0.0, timeout_s))
        except queue.Empty:
            return None
