"""The kiosk runtime: presence, sessions, voice and touch turns, speech, avatar and devices, wired in asyncio.

Heavy libraries (pygame, mediapipe, espeak-ng, whisper) load only when the
runtime is built (:func:`build_runtime`).
"""

from kiosk.runtime.assemble import build_runtime
from kiosk.runtime.config import DevicesConfig, RuntimeConfig, StageBudgets, WebConfig, load_runtime_config
from kiosk.runtime.devices import Devices, face_photo
from kiosk.runtime.presence import PresenceConfig, PresenceTracker
from kiosk.runtime.record import KioskStep, TurnRecord
from kiosk.runtime.runtime import KioskRuntime, RuntimeStageError
from kiosk.runtime.stages import StageEnded, StageEvent, StageStarted
from kiosk.runtime.supervisor import ComponentStatus, Supervisor
from kiosk.runtime.timing import Backoff, is_open, screen_mode

__all__ = [
    "Backoff",
    "ComponentStatus",
    "Devices",
    "DevicesConfig",
    "KioskRuntime",
    "KioskStep",
    "PresenceConfig",
    "PresenceTracker",
    "RuntimeConfig",
    "RuntimeStageError",
    "StageBudgets",
    "StageEnded",
    "StageEvent",
    "StageStarted",
    "Supervisor",
    "TurnRecord",
    "WebConfig",
    "build_runtime",
    "face_photo",
    "is_open",
    "load_runtime_config",
    "screen_mode",
]
