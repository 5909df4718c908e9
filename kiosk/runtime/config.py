"""Runtime settings: devices, stage time budgets, frame rate, idle and presence timing."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from hardware import DriverKind, DriverSpecError, check_driver
from kiosk.dialogue import SideEffectLimits
from kiosk.runtime.presence import PresenceConfig
from kiosk.voice import VoiceConfig


class DevicesConfig(BaseModel):
    """Which driver each device uses. ``simulated`` works on any machine; ``none`` leaves the device out.

    Drivers are looked up in the driver registry (``hardware.registry``): an
    unknown name or a malformed argument is refused when the settings are
    read, with the known names. A device whose driver fails to open is
    reported missing on the admin page; the kiosk runs on without it (touch
    only at worst).
    """

    model_config = ConfigDict(frozen=True)

    camera: str = Field(
        default="simulated",
        description="'simulated' (an empty lobby until someone walks up), 'opencv:INDEX', 'file:PATH' (an image, "
        "an image folder or a video file; a bare path containing '/' also works) or 'none'.",
    )
    microphone: str = Field(default="simulated", description="'simulated' (WAV files), 'sounddevice' or 'none'.")
    speaker: str = Field(default="simulated", description="'simulated' (paced, not heard), 'sounddevice' or 'none'.")
    printer: str = Field(
        default="simulated",
        description="'simulated', 'escpos:network:HOST[:PORT]', 'escpos:usb:0xVVVV:0xPPPP', "
        "'escpos:serial:/dev/ttyS0', 'escpos:file:/dev/usb/lp0' or 'none'.",
    )
    card_reader: str = Field(default="simulated", description="'simulated' or 'none'.")
    paper_slips: int = Field(default=500, ge=0, description="Slips on the simulated printer's roll.")
    printer_paper_sensor: bool = Field(
        default=False,
        description="Ask an ESC/POS printer for its paper sensor around each ticket (near end: paper low; "
        "empty: no ticket). For printers that answer status queries.",
    )
    paper_low_slips: int = Field(
        default=20, ge=0, description="At or below this many slips left the printer reports paper low."
    )

    @field_validator("camera", "microphone", "speaker", "printer", "card_reader")
    @classmethod
    def _known_driver(cls, spec: str, info: ValidationInfo) -> str:
        kind: DriverKind = info.field_name  # type: ignore[assignment]
        try:
            check_driver(kind, spec)
        except DriverSpecError as err:
            raise ValueError(str(err)) from err
        return spec


class StageBudgets(BaseModel):
    """Time budget of each stage of a turn, in seconds; a late stage is skipped politely."""

    model_config = ConfigDict(frozen=True)

    asr_s: float = Field(default=8.0, gt=0, le=60, description="Speech recognition of one utterance.")
    dialogue_s: float = Field(default=5.0, gt=0, le=60, description="The dialogue engine (with its LLM stage).")
    tts_s: float = Field(default=5.0, gt=0, le=60, description="Synthesis of one sentence.")
    print_s: float = Field(default=5.0, gt=0, le=60, description="Printing one ticket.")
    presence_s: float = Field(default=2.0, gt=0, le=60, description="Face detection on one frame.")
    ocr_s: float = Field(
        default=20.0, gt=0, le=120, description="Reading an ID card (OCR; the first card loads the models)."
    )


class WebConfig(BaseModel):
    """How the kiosk's web app is served (the ``[web]`` table): hosts, TLS, proxy, body limits.

    Bound to loopback (the default) nothing else is needed. Bound to another
    address, the page is served over TLS: the certificate and key named here,
    or a self-signed pair made at first start in ``<state>/tls/``.
    """

    model_config = ConfigDict(frozen=True)

    allowed_hosts: tuple[str, ...] = Field(
        default=(),
        description="Host names or addresses browsers use to reach the kiosk (besides loopback and the bind "
        "address); on a wildcard bind, empty means the machine's own name and addresses.",
    )
    tls_cert: Path | None = Field(default=None, description="PEM certificate for HTTPS (with tls_key).")
    tls_key: Path | None = Field(default=None, description="PEM private key of tls_cert.")
    trusted_proxy: str | None = Field(
        default=None,
        description="Address of the reverse proxy whose X-Forwarded-For/-Proto are believed; None: no proxy "
        "headers are believed, from anywhere (loopback included).",
    )
    max_body_bytes: int = Field(
        default=64 * 1024, ge=1024, le=10_000_000, description="Largest request body (JSON, forms), in bytes."
    )
    max_upload_bytes: int = Field(
        default=5_000_000, ge=1024, le=50_000_000, description="Largest WAV upload on the customer page, in bytes."
    )


class RuntimeConfig(BaseModel):
    """How the runtime behaves."""

    model_config = ConfigDict(frozen=True)

    devices: DevicesConfig = Field(default_factory=DevicesConfig)
    budgets: StageBudgets = Field(default_factory=StageBudgets)
    presence: PresenceConfig = Field(default_factory=PresenceConfig)
    width: int = Field(default=540, ge=240, le=2160, description="Width of the kiosk screen (pixels).")
    height: int = Field(default=960, ge=240, le=3840, description="Height of the kiosk screen (pixels).")
    fps: float = Field(default=15.0, gt=0, le=60, description="Frames per second the avatar is drawn at.")
    camera_fps: float = Field(default=8.0, gt=0, le=30, description="Camera frames analysed per second.")
    attract_after_s: float = Field(default=30.0, gt=0, description="Nobody there this long: attract loop.")
    speak: bool = Field(default=True, description="Synthesise replies (off: subtitles and lip sync from text).")
    max_turn_log: int = Field(default=500, ge=10, le=100_000, description="Turns kept in memory for the page.")
    max_restarts: int = Field(default=5, ge=0, description="Crashes in a row before a component is given up.")
    voice: VoiceConfig = Field(
        default_factory=VoiceConfig,
        description="Listening (endpointing, half duplex, barge-in, grammar) and speech rate and volume.",
    )
    web: WebConfig = Field(default_factory=WebConfig, description="Hosts, TLS, proxy and body limits of the page.")
    side_effects: SideEffectLimits = Field(
        default_factory=SideEffectLimits,
        description="Hand-offs, risk alerts and tickets the whole kiosk may raise per window, all sessions together.",
    )


def load_runtime_config(path: Path) -> RuntimeConfig:
    """Read the kiosk's runtime settings file (TOML: top-level keys and ``[devices]``, ``[budgets]`` … tables).

    Keys left out keep their defaults; an unknown key is an error, so a typo
    does not silently leave a device on its default driver.

    Raises:
        ValueError: The file cannot be read or holds a bad or unknown setting (the message names it).
    """
    import tomllib

    from pydantic import ValidationError

    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise ValueError(f"{path}: cannot read the runtime settings: {err}") from err
    unknown = _unknown_key(RuntimeConfig, data, "")
    if unknown:
        raise ValueError(f"{path}: {unknown}")
    try:
        return RuntimeConfig.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ValueError(f"{path}: {where}: {first['msg']}") from err


def _unknown_key(model: type[BaseModel], data: object, prefix: str) -> str:
    """The first key of ``data`` the settings do not have, in words ('' when all are known)."""
    if not isinstance(data, dict):
        return ""
    for key, value in data.items():
        field = model.model_fields.get(key)
        if field is None:
            return f"unknown setting '{prefix}{key}' (known here: {', '.join(sorted(model.model_fields))})"
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            nested = _unknown_key(annotation, value, f"{prefix}{key}.")
            if nested:
                return nested
    return ""
