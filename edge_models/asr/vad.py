"""Voice activity and endpointing: a pure state machine fed PCM frames and elapsed time.

It never reads the clock. Each call gives one frame of 16 kHz mono int16
samples and how much time that frame spans; the endpointer answers with an
event when speech starts, when it ends (trailing silence), when nobody spoke
before the time-out, or when the utterance hit its maximum length.

Speech is a frame louder than both an absolute floor and the running noise
floor plus a margin, so steady noise (a fan, white noise) does not count.
The first frame calibrates the noise floor: start listening before anyone
speaks (the WAV-file microphone leads with a little silence).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from edge_models.audio import Int16Array, rms_dbfs

EndpointEvent = Literal["speech_start", "speech_end", "timeout", "max_length"]
State = Literal["waiting", "speech", "done"]


class VadSettings(BaseModel):
    """Thresholds and time limits of endpointing."""

    model_config = ConfigDict(frozen=True)

    min_speech_dbfs: float = Field(default=-45.0, description="Frames quieter than this are never speech.")
    margin_db: float = Field(default=10.0, ge=0, description="Speech is this much louder than the noise floor.")
    speech_start_ms: float = Field(default=90.0, ge=0, description="Sustained speech needed to start an utterance.")
    end_silence_ms: float = Field(default=600.0, gt=0, description="Trailing silence that ends an utterance.")
    no_speech_timeout_ms: float = Field(default=8000.0, gt=0, description="Give up when nobody speaks this long.")
    max_utterance_ms: float = Field(default=15000.0, gt=0, description="Cut an utterance this long.")
    noise_rise: float = Field(default=0.02, gt=0, le=1, description="How fast the noise floor follows louder frames.")


class Endpointer:
    """Finds one utterance in a stream of frames (call :meth:`reset` for the next).

    Args:
        settings: Thresholds and time limits.
    """

    def __init__(self, settings: VadSettings | None = None) -> None:
        self.settings = settings or VadSettings()
        self.reset()

    def reset(self, *, keep_noise: bool = False) -> None:
        """Start listening for a new utterance.

        Args:
            keep_noise: Keep the noise floor learnt so far (continuous listening on one microphone);
                otherwise the next frame calibrates it afresh.
        """
        noise = self.noise_dbfs if keep_noise and hasattr(self, "noise_dbfs") else None
        self.state: State = "waiting"
        self.now_ms = 0.0
        self.noise_dbfs: float | None = noise
        self.speech_start_ms: float | None = None
        self.speech_end_ms: float | None = None
        self._run_ms = 0.0  # length of the current run of speech (waiting) or silence (speech)
        self._run_start = 0.0

    def begin_speech(self) -> None:
        """Start an utterance now, without waiting for sustained speech.

        For a barge-in: the customer's voice was already recognised over the
        kiosk's own speech, so the utterance starts at once (the noise floor is kept).
        """
        self.state = "speech"
        self.speech_start_ms = self.now_ms
        self.speech_end_ms = None
        self._run_ms = 0.0

    def is_speech(self, level_dbfs: float) -> bool:
        """Whether a frame at this level counts as speech against the current noise floor."""
        floor = self.noise_dbfs if self.noise_dbfs is not None else -120.0
        return level_dbfs > max(self.settings.min_speech_dbfs, floor + self.settings.margin_db)

    def _track_noise(self, level: float) -> None:
        if self.noise_dbfs is None or level < self.noise_dbfs:
            self.noise_dbfs = level
        else:
            self.noise_dbfs += (level - self.noise_dbfs) * self.settings.noise_rise

    def process(self, samples: Int16Array, elapsed_ms: float) -> EndpointEvent | None:
        """Feed one frame that spans ``elapsed_ms``; returns an event or None.

        Raises:
            ValueError: negative elapsed time.
        """
        if elapsed_ms < 0:
            raise ValueError("elapsed time cannot be negative")
        if self.state == "done":
            return None
        start = self.now_ms
        self.now_ms += elapsed_ms
        level = rms_dbfs(samples)
        if self.noise_dbfs is None:  # the first frame calibrates the noise floor
            self.noise_dbfs = level
        speech = self.is_speech(level)
        s = self.settings
        if self.state == "waiting":
            if speech:
                if self._run_ms == 0:
                    self._run_start = start
                self._run_ms += elapsed_ms
                if self._run_ms >= s.speech_start_ms:
                    self.state = "speech"
                    self.speech_start_ms = self._run_start
                    self._run_ms = 0.0
                    return "speech_start"
            else:
                self._run_ms = 0.0
                self._track_noise(level)
            if self.now_ms >= s.no_speech_timeout_ms:
                self.state = "done"
                return "timeout"
            return None
        # in speech: count trailing silence
        if speech:
            self._run_ms = 0.0
        else:
            if self._run_ms == 0:
                self._run_start = start
            self._run_ms += elapsed_ms
            if self._run_ms >= s.end_silence_ms:
                self.state = "done"
                self.speech_end_ms = self._run_start
                return "speech_end"
        if self.speech_start_ms is not None and self.now_ms - self.speech_start_ms >= s.max_utterance_ms:
            self.state = "done"
            self.speech_end_ms = self.now_ms
            return "max_length"
        return None
