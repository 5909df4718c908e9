"""The customer side of the local page when the runtime runs: act as the customer, watch the kiosk react.

``/api/kiosk/...``: type, tap, upload a WAV, walk up or away (the simulated
camera shows the demo face photo), insert a card; ``/api/kiosk/state``
shows the screen, the last turns and the devices' health.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from kiosk.conversation import MAX_INPUT_CHARS
from kiosk.privacy import mask_pii
from kiosk.runtime import TurnRecord
from kiosk.web.errors import UnicodeText
from kiosk.web.trust import require_device

# Only the kiosk screen (its device token) acts as the customer; the trust boundary middleware
# has already checked Host, Origin, content type and body size (kiosk/web/trust.py).
router = APIRouter(prefix="/api/kiosk", tags=["kiosk"], dependencies=[Depends(require_device)])
TURN_TIMEOUT_S = 60.0


class KioskInput(BaseModel):
    """Typed text or a tapped button."""

    model_config = ConfigDict(extra="forbid")

    text: UnicodeText | None = Field(default=None, min_length=1, max_length=MAX_INPUT_CHARS)
    button: UnicodeText | None = Field(default=None, min_length=1, max_length=200)


class Walk(BaseModel):
    """A simulated customer walks up to the kiosk or away."""

    model_config = ConfigDict(extra="forbid")

    walk: Literal["up", "away"]


class Card(BaseModel):
    """A simulated card goes in (with its number, masked at once) or comes out, or the reader is unplugged."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["insert", "remove", "unplug"]
    number: UnicodeText = Field(default="6222020200112233", max_length=30)


def _runtime(request: Request) -> Any:
    runtime = getattr(request.app.state, "runtime", None)
    if runtime is None:
        raise HTTPException(status_code=503, detail="the kiosk runtime is not running")
    return runtime


def _record(record: TurnRecord) -> dict[str, Any]:
    """A turn for the page: masked text only."""
    out = record.view()
    out["heard"] = mask_pii(out["heard"])
    out["reply"] = mask_pii(out["reply"])
    return out


@router.get("/state")
async def state(request: Request) -> dict[str, Any]:
    """What the screen shows, the last turns and the kiosk's health."""
    runtime = _runtime(request)
    screen = runtime.screen.screen if runtime.screen is not None else None
    return {
        **runtime.health(),
        "screen": None
        if screen is None
        else {
            "lang": screen.lang,
            "said": mask_pii(screen.said),
            "heard": mask_pii(screen.heard),
            "buttons": screen.shown_buttons,
        },
        # Masked, and without session ids (no one can aim turns at the current customer's session).
        "turns": [{k: v for k, v in _record(t).items() if k != "session"} for t in list(runtime.turns)[-10:]],
        "turn_count": runtime.turn_count,
        "tickets": list(runtime.tickets_printed[-10:]),
        "id_form": runtime.idcard.view(masked=True),
    }


@router.post("/input")
async def kiosk_input(body: KioskInput, request: Request) -> dict[str, Any]:
    """Type or tap as the customer; returns the turn."""
    runtime = _runtime(request)
    if (body.text is None) == (body.button is None):
        raise HTTPException(status_code=422, detail="give exactly one of 'text' or 'button'")
    work = runtime.text(body.text) if body.text is not None else runtime.button(body.button)
    return _record(await asyncio.wait_for(work, TURN_TIMEOUT_S))


@router.post("/voice")
async def kiosk_voice(
    request: Request,
    lang: Annotated[Literal["zh", "en", "auto"], Query(description="Language spoken.")] = "auto",
    via: Annotated[
        Literal["turn", "microphone"],
        Query(
            description="'turn': take the turn now and return it; 'microphone': speak it into the simulated "
            "microphone, where the kiosk hears it as it listens (the turn appears in /state)."
        ),
    ] = "turn",
) -> dict[str, Any]:
    """Speak as the customer: the request body is a WAV file (converted to 16 kHz mono)."""
    from edge_models.audio import AudioError, read_wav

    # The trust boundary refuses a body over [web] max_upload_bytes by Content-Length and while it streams
    # (read first, so an oversized upload is cut off even when the runtime is not running).
    data = await request.body()
    runtime = _runtime(request)
    if not data:
        raise HTTPException(status_code=422, detail="send a WAV file as the request body")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload.wav"
        path.write_bytes(data)
        try:
            pcm = await asyncio.to_thread(read_wav, path, max_seconds=30.0)
        except AudioError as err:
            raise HTTPException(status_code=422, detail=f"audio rejected: {err}") from err
    if via == "microphone":
        from hardware import SimulatedMicrophone

        mic = getattr(runtime.devices, "mic", None)
        if not isinstance(mic, SimulatedMicrophone):
            raise HTTPException(status_code=409, detail="this kiosk has no simulated microphone")
        try:
            mic.say(pcm, label="upload", silence_after_ms=800)
        except ValueError as err:
            raise HTTPException(status_code=429, detail=str(err)) from err
        return {"queued": True, "seconds": round(pcm.duration_s, 2)}
    return _record(await asyncio.wait_for(runtime.voice(pcm, lang), TURN_TIMEOUT_S))


@router.post("/presence")
async def presence(body: Walk, request: Request) -> dict[str, Any]:
    """Walk up to the kiosk (the simulated camera shows a face) or away."""
    from hardware import SceneCamera
    from kiosk.runtime import face_photo

    runtime = _runtime(request)
    camera = runtime.devices.camera
    if isinstance(camera, SceneCamera) and runtime.detector is not None:
        camera.show(await asyncio.to_thread(face_photo) if body.walk == "up" else None)
        return {"ok": True, "via": "camera"}
    if body.walk == "up":
        await runtime.arrive()
    else:
        await runtime.end_session("left")
    return {"ok": True, "via": "direct"}


@router.post("/card")
async def card(body: Card, request: Request) -> dict[str, Any]:
    """Insert or remove a card in the simulated card reader, or unplug it.

    "unplug" makes the reader's driver fail once: the supervisor restarts it and the admin page shows the restart.
    """
    from hardware import CardReaderError, SimulatedCardReader

    reader = _runtime(request).devices.card_reader
    if not isinstance(reader, SimulatedCardReader):
        raise HTTPException(status_code=409, detail="this kiosk has no simulated card reader")
    if body.action == "unplug":
        reader.fail_next("card reader unplugged (simulated)")
        return {"ok": True}
    try:
        reader.insert(body.number) if body.action == "insert" else reader.remove()
    except CardReaderError as err:
        raise HTTPException(status_code=422, detail=str(err)) from err
    return {"ok": True}


@router.post("/idcard")
async def id_card(
    request: Request,
    via: Annotated[
        Literal["camera", "scanner"],
        Query(
            description="'camera': the simulated camera shows the image while the kiosk reads one frame; "
            "'scanner': the image comes from a document scanner."
        ),
    ] = "camera",
) -> dict[str, Any]:
    """Hold an ID card to the kiosk: the request body is a PNG or JPEG of the card's front.

    The image is decoded in memory and never written anywhere.
    """
    import cv2
    import numpy as np
    import numpy.typing as npt

    from hardware import SceneCamera

    runtime = _runtime(request)
    data = await request.body()
    if not data:
        raise HTTPException(status_code=422, detail="send a PNG or JPEG image of the card as the request body")
    bgr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    del data
    if bgr is None or min(bgr.shape[:2]) < 16 or max(bgr.shape[:2]) > 4096:
        raise HTTPException(status_code=422, detail="not a readable PNG or JPEG image (16 to 4096 pixels a side)")
    rgb: npt.NDArray[np.uint8] = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), dtype=np.uint8)
    del bgr
    camera = runtime.devices.camera
    if via == "camera" and isinstance(camera, SceneCamera):
        # The customer holds the card up for a moment: the kiosk reads the camera's frame, then the
        # camera sees the customer again (the presence loop must not think they left).
        before = camera.scene
        camera.show(rgb)
        try:
            frame = await asyncio.to_thread(camera.read)
        finally:
            camera.show(before)
        rgb = rgb if frame is None else frame.rgb
    record = await asyncio.wait_for(runtime.id_card(rgb), TURN_TIMEOUT_S)
    return {**{k: v for k, v in _record(record).items() if k != "session"}, "id_form": runtime.idcard.view(masked=True)}
