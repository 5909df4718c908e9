"""Message types of speech: what TTS produces and the avatar's lip sync consumes.

Pure data, no heavy imports: ``avatar`` and ``kiosk`` import it freely.
Visemes follow Rhubarb Lip Sync's set: A (closed: p, b, m), B (slightly
open, most consonants), C (open: e, ae), D (wide open: a), E (rounded: o),
F (puckered: u, w), G (teeth on lip: f, v), H (tongue: l), X (rest).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Viseme = Literal["A", "B", "C", "D", "E", "F", "G", "H", "X"]
VISEMES: tuple[Viseme, ...] = ("A", "B", "C", "D", "E", "F", "G", "H", "X")


class VisemeCue(BaseModel):
    """One mouth shape held from ``start_ms`` to ``end_ms`` of the audio."""

    model_config = ConfigDict(frozen=True)

    start_ms: float = Field(ge=0)
    end_ms: float = Field(ge=0)
    viseme: Viseme
    phoneme: str = Field(default="", description="The phoneme (IPA) it came from, if known.")

    @model_validator(mode="after")
    def _ordered(self) -> VisemeCue:
        if self.end_ms < self.start_ms:
            raise ValueError("end_ms is before start_ms")
        return self


class VisemeTimeline(BaseModel):
    """Mouth shapes over one utterance, in audio time."""

    model_config = ConfigDict(frozen=True)

    duration_ms: float = Field(ge=0)
    cues: tuple[VisemeCue, ...] = ()

    def at(self, t_ms: float) -> Viseme:
        """The viseme showing at ``t_ms`` (X, rest, outside every cue)."""
        for cue in self.cues:
            if cue.start_ms <= t_ms < cue.end_ms:
                return cue.viseme
        return "X"
