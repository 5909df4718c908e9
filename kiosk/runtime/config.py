"""Runtime settings: devices, stage time budgets, frame rate, idle and presence timing."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from kiosk.presence import PresenceConfig


class DevicesConfig(BaseModel):
    """Which driver each device uses. ``simulated`` works on any machine; ``none`` leaves the device out.

    A device whose driver is unknown or fails to open is reported missing on
    the admin page; the kiosk runs on without it (touch only at worst).
    """

    model_config = ConfigDict(frozen=True)

    camera: str = Field(
        default="simulated",
        description="'simulated' (an empty lobby until someone walks up), 'opencv:INDEX', an image folder "
        "or video file path, or 'none'.",
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


class StageBudgets(BaseModel):
    """Time budget of each stage of a turn, in seconds; a late stage is skipped politely."""

    model_config = ConfigDict(frozen=True)

    asr_s: float = Field(default=8.0, gt=0, le=60, description="Speech recognition of one utterance.")
    dialogue_s: float = Field(default=5.0, gt=0, le=60, description="The dialogue engine (with its LLM stage).")
    tts_s: float = Field(default=5.0, gt=0, le=60, description="Synthesis of one sentence.")
    print_s: float = Field(default=5.0, gt=0, le=60, description="Printing one ticket.")
    presence_s: float = Field(default=2.0, gt=0, le=60, description="Face detection on one frame.")


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
