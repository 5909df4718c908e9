"""Presence: has a customer arrived at the kiosk, or left? Pure, fed detections and elapsed time.

A face must be large enough (close to the screen) and steady for
``arrive_ms`` before it counts as an arrival, so passers-by are ignored;
after no such face for ``leave_ms`` the customer has left, the session ends
and the screen resets. Short drop-outs (a turned head, a missed frame) are
bridged.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from edge_models.vision.face import Face


class PresenceConfig(BaseModel):
    """When a face counts as a customer."""

    model_config = ConfigDict(frozen=True)

    min_face_width: float = Field(
        default=0.12, gt=0, le=1, description="Smallest face (fraction of image width): farther is a passer-by."
    )
    min_score: float = Field(default=0.6, ge=0, le=1, description="Lowest detector score that counts.")
    arrive_ms: float = Field(default=800.0, ge=0, description="A face steady this long is an arrival.")
    leave_ms: float = Field(default=3000.0, ge=0, description="No face this long after an arrival is a departure.")
    max_jump: float = Field(
        default=0.35, gt=0, description="A face moving farther than this (image widths) between frames starts over."
    )


class PresenceEvent(BaseModel):
    """A customer arrived or left (``t_ms`` is the tracker's elapsed time)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["arrived", "left"]
    t_ms: float
    x: float | None = Field(default=None, description="Face centre (0..1 of the image) at arrival.")
    y: float | None = None


class PresenceTracker:
    """The presence state machine; call ``update`` once per camera frame."""

    def __init__(self, config: PresenceConfig | None = None) -> None:
        """Start with nobody present."""
        self.config = config or PresenceConfig()
        self.t_ms = 0.0
        self.present = False
        self._steady_ms = 0.0
        self._absent_ms = 0.0
        self._last: tuple[float, float] | None = None
        self.face: Face | None = None

    def _customer(self, faces: tuple[Face, ...]) -> Face | None:
        cfg = self.config
        near = [f for f in faces if f.w >= cfg.min_face_width and f.score >= cfg.min_score]
        return max(near, key=lambda f: f.w * f.h, default=None)

    def update(self, faces: tuple[Face, ...], dt_ms: float) -> list[PresenceEvent]:
        """Feed one frame's faces, ``dt_ms`` after the previous frame.

        Returns:
            The events this frame caused (usually none).

        Raises:
            ValueError: If ``dt_ms`` is negative or not finite.
        """
        if dt_ms < 0 or not math.isfinite(dt_ms):
            raise ValueError(f"elapsed time must be a finite non-negative number, got {dt_ms}")
        cfg = self.config
        self.t_ms += dt_ms
        face = self._customer(faces)
        events: list[PresenceEvent] = []
        if face is None:
            self._absent_ms += dt_ms
            if not self.present:
                self._steady_ms = 0.0
                self._last = None
            elif self._absent_ms >= cfg.leave_ms:
                self.present = False
                self._steady_ms = 0.0
                self._last = None
                self.face = None
                events.append(PresenceEvent(kind="left", t_ms=self.t_ms))
            return events
        self._absent_ms = 0.0
        centre = face.centre
        if self._last is not None and math.dist(centre, self._last) > cfg.max_jump and not self.present:
            self._steady_ms = 0.0
        elif self._last is not None:
            self._steady_ms += dt_ms
        self._last = centre
        self.face = face
        if not self.present and self._steady_ms >= cfg.arrive_ms:
            self.present = True
            events.append(PresenceEvent(kind="arrived", t_ms=self.t_ms, x=round(centre[0], 3), y=round(centre[1], 3)))
        return events

    @property
    def gaze_target(self) -> tuple[float, float] | None:
        """Where the customer's face is (for the avatar's eyes), while present."""
        return self.face.centre if self.present and self.face is not None else None
