"""Device health: what each device reports to the runtime and the admin page."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hardware.errors import DeviceError, DeviceUnavailableError

DeviceKind = Literal["camera", "microphone", "speaker", "display", "printer", "card_reader"]
HealthState = Literal["ok", "degraded", "missing", "paper_low"]


class DeviceHealth(BaseModel):
    """One device's state.

    ``missing`` means the kiosk runs without it (touch only at worst);
    ``degraded`` means it works with a problem; ``paper_low`` is a printer
    that still prints but needs paper soon.
    """

    model_config = ConfigDict(frozen=True)

    kind: DeviceKind
    driver: str = Field(description="Driver name: 'simulated', 'escpos-network', 'opencv', ...")
    state: HealthState
    detail: str = Field(default="", description="Why it is not ok, in words staff understand.")


__all__ = ["DeviceError", "DeviceHealth", "DeviceKind", "DeviceUnavailableError", "HealthState"]
