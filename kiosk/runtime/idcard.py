"""The ID card desk of the running kiosk: account opening with the customer's ID card.

Camera (or a document scanner's image) -> OCR -> the pre-filled
account-opening form on screen -> confirm or correct -> staff get the masked
form with a hand-off.

The image lives in memory for one OCR run and is dropped; nothing here
writes it anywhere. OCR runs off the event loop under the ``ocr`` stage
budget, with the models loaded on first use.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from kiosk.idcard import FlowStep, IdCardFlow, IdCardUnreadable, parse_front

if TYPE_CHECKING:
    from edge_models.vision.ocr import TextReader
    from kiosk.runtime.record import TurnRecord
    from kiosk.runtime.runtime import KioskRuntime

_LOG = logging.getLogger(__name__)


def _default_reader() -> TextReader:
    from edge_models.vision.ocr import TextReader

    return TextReader()


class IdCardDesk:
    """One ID card flow per customer session, driven by the runtime.

    Args:
        runtime: The kiosk it belongs to (speech, screen, stage budgets, store).
        reader: The OCR reader, or a callable making it on first use.
    """

    def __init__(self, runtime: KioskRuntime, reader: TextReader | Callable[[], TextReader] | None = None) -> None:
        self._rt = runtime
        self._reader: Any = reader or _default_reader
        self._reader_lock = threading.Lock()
        self._session: str | None = None
        self.flow = IdCardFlow()

    def forget(self) -> None:
        """The customer left: drop their form (privacy)."""
        self._session = None
        self.flow = IdCardFlow()

    @property
    def editing(self) -> bool:
        """True while the customer is typing a correction for a field of the form."""
        return self._session == self._rt.session_id and self.flow.editing is not None

    def view(self, *, masked: bool = False) -> dict[str, object] | None:
        """The form as the screen shows it, or ``None`` when this customer has none.

        ``masked`` shows the ID number as ``110101********123X`` (the page's state; its check digit
        already guards it, the customer checks the name, dates and address).
        """
        if self._session is None or self._session != self._rt.session_id:
            return None
        return self.flow.view(masked=masked)

    def _text_reader(self) -> TextReader:
        with self._reader_lock:
            if callable(self._reader) and not hasattr(self._reader, "read"):
                self._reader = self._reader()
            reader: TextReader = self._reader
            return reader

    async def scan(self, rgb: npt.NDArray[np.uint8] | None = None) -> TurnRecord:
        """Read the card the customer holds to the camera, or ``rgb`` from a document scanner.

        A read card fills the form on screen; an unreadable one gets a request to
        retry, and after the second failure a hand-off to staff.
        """
        rt = self._rt
        if rt.session_id is None:
            await rt.arrive()
        if self._session != rt.session_id:
            self.forget()
            self._session = rt.session_id
        camera = rt.devices.camera
        if rgb is None and camera is None:
            return await self._step(FlowStep("retry", _no_camera(rt.lang)), "[ID card]")
        if rt.screen is not None:
            rt.screen.show(state="thinking")
        today = rt.now().date()

        def read() -> Any:
            image = rgb
            if image is None and camera is not None:
                frame = camera.read()
                image = None if frame is None else frame.rgb
            if image is None:
                return IdCardUnreadable(failed=("id_number",), reason="the camera gave no image")
            try:
                return parse_front(self._text_reader().read(image), today=today)
            finally:
                del image  # the card's image is never kept

        from kiosk.runtime.runtime import RuntimeStageError

        try:
            result = await rt._stage("ocr", read)
        except RuntimeStageError:
            result = IdCardUnreadable(failed=("id_number",), reason="the OCR stage failed")
        rt._log("idcard_read", status=result.status, failed=list(getattr(result, "failed", ())))
        return await self._step(self.flow.card(result, rt.lang), "[ID card]")

    async def button(self, button_id: str) -> TurnRecord | None:
        """An ``idcard:`` button; ``None`` when the form is not waiting for it."""
        rt = self._rt
        if button_id in ("idcard:scan", "idcard:rescan"):
            return await self.scan()
        if self._session != rt.session_id:
            return None
        step = self.flow.button(button_id, rt.lang)
        return None if step is None else await self._step(step, f"[button {button_id}]")

    async def correction(self, text: str) -> TurnRecord:
        """The customer typed the corrected value of the field being edited."""
        field = self.flow.editing
        step = self.flow.correction(text, self._rt.lang)
        return await self._step(step, f"[correction of {field}]")

    async def _step(self, step: FlowStep, heard: str) -> TurnRecord:
        from kiosk.runtime.record import KioskStep

        rt = self._rt
        session = rt.session_id or ""
        handoff = None
        if step.handoff_reason is not None:
            handoff = "handoff"
            await self._hand_off(session, step.handoff_reason)
        await rt._say(step.reply, rt.lang, "warm" if step.kind in ("form", "confirmed") else "apologetic", step.buttons)
        action = {"confirmed": "handoff", "staff": "handoff", "form": "ask", "edit": "ask"}.get(step.kind, "clarify")
        decided = KioskStep(
            step.reply, rt.lang, "idcard", action, "warm", "account_open", buttons=step.buttons, handoff=handoff
        )
        return rt._record("idcard", heard, decided)

    async def _hand_off(self, session: str, reason: str) -> None:
        store = self._rt.conversations.store
        summary = self.flow.staff_summary()
        self._rt._log("handoff", session=session, reason=reason)
        if store is None:
            return

        now = self._rt.now()

        def queue() -> None:
            store.add_handoff(session, "handoff", reason, self._rt.lang, summary, summary_source="form")
            store.end_session(session, "handoff", at=now)

        await asyncio.to_thread(queue)


def _no_camera(lang: str) -> str:
    if lang == "zh":
        return "抱歉，这台机器没有可用的摄像头，请到柜台出示身份证。"
    return "Sorry, this kiosk has no working camera; please show your ID card at the counter."
