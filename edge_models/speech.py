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


class RecognizedWord(BaseModel):
    """One recognised word with its audio time and the recogniser's confidence."""

    model_config = ConfigDict(frozen=True)

    word: str
    start_s: float = Field(ge=0, description="Start in seconds from the start of the audio.")
    end_s: float = Field(ge=0, description="End in seconds from the start of the audio.")
    confidence: float = Field(ge=0, le=1)


class Transcript(BaseModel):
    """What a speech recogniser heard in one utterance (partial or final)."""

    model_config = ConfigDict(frozen=True)

    text: str = Field(description="The recognised text, normalised (simplified Chinese).")
    lang: str = Field(description="Language of the model that recognised it: 'zh', 'en', 'ko', ...")
    words: tuple[RecognizedWord, ...] = ()
    confidence: float = Field(ge=0, le=1, description="Utterance confidence (0 when nothing was heard).")
    final: bool = True
    engine: str = Field(default="", description="'vosk' or 'faster-whisper'.")
    model: str = Field(default="", description="Model bundle name and version.")
    mode: Literal["open", "grammar"] = "open"
    audio_s: float = Field(default=0.0, ge=0, description="Seconds of audio recognised.")
    compute_s: float = Field(default=0.0, ge=0, description="Seconds of CPU time it took.")

    @property
    def rtf(self) -> float:
        """Real-time factor: compute time over audio time (0 for no audio)."""
        return self.compute_s / self.audio_s if self.audio_s > 0 else 0.0
