"""Microphone and speaker: small interfaces, WAV-file and sounddevice drivers, duplex logic.

The base classes enforce the format (16 kHz mono int16 frames in, int16 out)
and turn driver failures into :class:`AudioDeviceError`; a driver implements
one method. The speaker plays in short blocks and checks its stop flag
between blocks, so a barge-in silences it within one block (50 ms).

:class:`DuplexGate` is the pure half-duplex and barge-in logic: while the
kiosk speaks the microphone is not heard by the recogniser, but a touch, or
the customer's voice clearly louder than the kiosk's own echo for a short
while, stops the speech.

sounddevice (PortAudio) is imported only inside its drivers.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from edge_models.audio import SAMPLE_RATE, Pcm, read_wav, rms_dbfs, write_wav
from hardware.errors import DeviceError

Int16Array = npt.NDArray[np.int16]
FRAME_MS = 30
BLOCK_MS = 50


class AudioDeviceError(DeviceError):
    """A microphone or speaker failed (missing device, driver error)."""


class Microphone(ABC):
    """A source of 16 kHz mono int16 frames.

    Args:
        frame_ms: Length of each frame returned by :meth:`read`.
    """

    rate = SAMPLE_RATE

    def __init__(self, frame_ms: int = FRAME_MS) -> None:
        if not 5 <= frame_ms <= 1000:
            raise ValueError("frame_ms must be between 5 and 1000")
        self.frame_ms = frame_ms
        self.frame_samples = SAMPLE_RATE * frame_ms // 1000
        self.closed = False

    def read(self) -> Int16Array | None:
        """The next frame (the last one may be shorter), or None at the end of the stream.

        Raises:
            AudioDeviceError: the device failed or returned malformed samples.
        """
        if self.closed:
            return None
        try:
            frame = self._read(self.frame_samples)
        except AudioDeviceError:
            raise
        except Exception as err:
            raise AudioDeviceError(f"{type(self).__name__}: {err}") from err
        if frame is None:
            return None
        if not isinstance(frame, np.ndarray) or frame.dtype != np.int16:
            raise AudioDeviceError(f"{type(self).__name__} returned non-int16 samples")
        frame = frame.reshape(-1)
        if len(frame) == 0 or len(frame) > self.frame_samples:
            raise AudioDeviceError(f"{type(self).__name__} returned a frame of {len(frame)} samples")
        return frame

    def close(self) -> None:
        """Release the device."""
        self.closed = True

    @abstractmethod
    def _read(self, frames: int) -> Int16Array | None:
        """Up to ``frames`` samples; None when the stream has ended."""


class WavFileMicrophone(Microphone):
    """Plays a WAV file (converted to 16 kHz mono) into the kiosk as if spoken.

    Args:
        path: The WAV file (validated and bounded by :func:`edge_models.audio.read_wav`).
        realtime: Pace frames at the speed of speech; otherwise as fast as read.
        frame_ms: Frame length.
        leading_silence_ms: Silence before the file, as a microphone hears before someone speaks.
        trailing_silence_ms: Silence appended after the file, so endpointing sees the speaker stop.
        clock: Monotonic clock (seconds), for pacing.
        sleep: Sleep function, for pacing.
        max_seconds: Longer files are refused.

    Raises:
        edge_models.audio.AudioError: the file is unreadable or too long.
    """

    def __init__(
        self,
        path: Path,
        *,
        realtime: bool = False,
        frame_ms: int = FRAME_MS,
        leading_silence_ms: int = 300,
        trailing_silence_ms: int = 1000,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        max_seconds: float = 120.0,
    ) -> None:
        super().__init__(frame_ms)
        pcm = read_wav(path, max_seconds=max_seconds)
        lead = np.zeros(SAMPLE_RATE * leading_silence_ms // 1000, dtype=np.int16)
        trail = np.zeros(SAMPLE_RATE * trailing_silence_ms // 1000, dtype=np.int16)
        self.samples: Int16Array = np.concatenate([lead, pcm.samples, trail])
        self.speech_ms = pcm.duration_ms
        self.realtime = realtime
        self._pos = 0
        self._clock = clock
        self._sleep = sleep
        self._started: float | None = None

    def _read(self, frames: int) -> Int16Array | None:
        if self._pos >= len(self.samples):
            return None
        if self.realtime:
            if self._started is None:
                self._started = self._clock()
            due = self._started + min(self._pos + frames, len(self.samples)) / SAMPLE_RATE
            delay = due - self._clock()
            if delay > 0:
                self._sleep(delay)
        frame = self.samples[self._pos : self._pos + frames]
        self._pos += len(frame)
        return frame


class SimulatedMicrophone(Microphone):
    """The simulated microphone: a quiet lobby into which WAV files are spoken, paced in real time.

    It never ends by itself (silence when nothing is queued) unless
    ``end_when_idle`` is set, and records when each queued clip began to be
    heard (for latency figures). :meth:`say` and :meth:`say_wav` are thread-safe.

    Args:
        realtime: Pace frames at the speed of speech (a real microphone); otherwise as fast as read.
        frame_ms: Frame length.
        end_when_idle: End the stream once everything queued has been heard.
        clock: Monotonic clock (seconds), for pacing.
        sleep: Sleep function, for pacing.
        max_queued_s: More queued audio than this is refused.
    """

    def __init__(
        self,
        *,
        realtime: bool = True,
        frame_ms: int = FRAME_MS,
        end_when_idle: bool = False,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        max_queued_s: float = 300.0,
    ) -> None:
        super().__init__(frame_ms)
        self.realtime = realtime
        self.end_when_idle = end_when_idle
        self._clock = clock
        self._sleep = sleep
        self._max_samples = int(max_queued_s * SAMPLE_RATE)
        self._lock = threading.Lock()
        self._queue: deque[tuple[Int16Array, str]] = deque()
        self._current: Int16Array | None = None
        self._label = ""
        self._pos = 0
        self._queued = 0
        self._delivered = 0
        self._started: float | None = None
        self.heard: list[tuple[str, float]] = []

    def say(self, pcm: Pcm, *, label: str = "", silence_after_ms: int = 0) -> None:
        """Queue ``pcm`` (converted to 16 kHz mono if needed) to be heard after what is queued already.

        Raises:
            ValueError: more than ``max_queued_s`` of audio would be queued.
        """
        from edge_models.audio import convert

        if pcm.rate != SAMPLE_RATE:
            pcm = convert(pcm.samples.astype(np.float64) / 32768.0, pcm.rate, 1)
        trail = np.zeros(SAMPLE_RATE * silence_after_ms // 1000, dtype=np.int16)
        samples = np.concatenate([pcm.samples.reshape(-1), trail]).astype(np.int16)
        with self._lock:
            if self._queued + len(samples) > self._max_samples:
                raise ValueError("too much audio queued on the simulated microphone")
            self._queue.append((samples, label))
            self._queued += len(samples)

    def say_wav(self, path: Path, *, silence_after_ms: int = 0, max_seconds: float = 120.0) -> None:
        """Queue a WAV file (validated and bounded by :func:`edge_models.audio.read_wav`).

        Raises:
            edge_models.audio.AudioError: the file is unreadable or too long.
        """
        self.say(read_wav(path, max_seconds=max_seconds), label=path.name, silence_after_ms=silence_after_ms)

    def silence(self, ms: int) -> None:
        """Queue ``ms`` of silence."""
        self.say(Pcm(np.zeros(SAMPLE_RATE * ms // 1000, dtype=np.int16)), label="")

    @property
    def idle(self) -> bool:
        """True when nothing queued is left to be heard."""
        with self._lock:
            return self._current is None and not self._queue

    def _read(self, frames: int) -> Int16Array | None:
        with self._lock:
            if self._current is None and self._queue:
                self._current, self._label = self._queue.popleft()
                self._pos = 0
                if self._label:
                    self.heard.append((self._label, self._clock()))
            if self._current is None:
                if self.end_when_idle:
                    return None
                frame = np.zeros(frames, dtype=np.int16)
            else:
                frame = self._current[self._pos : self._pos + frames]
                self._pos += len(frame)
                self._queued -= len(frame)
                if self._pos >= len(self._current):
                    self._current = None
            self._delivered += len(frame)
            delivered = self._delivered
        if self.realtime:
            if self._started is None:
                self._started = self._clock() - len(frame) / SAMPLE_RATE
            delay = self._started + delivered / SAMPLE_RATE - self._clock()
            if delay > 0:
                self._sleep(delay)
            elif delay < -1.0:  # the reader fell behind by more than a second: drop the backlog of time
                self._started -= delay
        return frame


class Speaker(ABC):
    """Plays int16 mono audio in short blocks; :meth:`stop` interrupts it (barge-in).

    Args:
        block_ms: Length of each block written to the device.
    """

    def __init__(self, block_ms: int = BLOCK_MS) -> None:
        self.block_ms = block_ms
        self._epoch_lock = threading.Lock()
        self.epoch = 0  # bumped by every stop(); a playback started in an older epoch stops
        self.playing = False
        self.stopped_at: float | None = None  # monotonic time the last stopped playback went silent

    def stop(self) -> None:
        """Stop the current playback after the block being written (thread-safe).

        Also stops a playback that was asked for before this call but has not begun
        yet (pass :attr:`epoch` as read when asking, see :meth:`play`).
        """
        with self._epoch_lock:
            self.epoch += 1

    def play(self, pcm: Pcm, *, epoch: int | None = None) -> bool:
        """Play ``pcm``; returns True when it played to the end, False when stopped.

        Args:
            pcm: The audio.
            epoch: :attr:`epoch` as read when the playback was decided (e.g. on the event loop
                before handing it to a worker thread): a :meth:`stop` in between stops it.

        Raises:
            AudioDeviceError: the device failed.
        """
        start_epoch = self.epoch if epoch is None else epoch
        block = max(1, pcm.rate * self.block_ms // 1000)
        self.playing = True
        try:
            for start in range(0, len(pcm.samples), block):
                if self.epoch != start_epoch:
                    self.stopped_at = time.monotonic()
                    return False
                self._write(pcm.samples[start : start + block], pcm.rate)
            if self.epoch != start_epoch:
                self.stopped_at = time.monotonic()
                return False
            return True
        except AudioDeviceError:
            raise
        except Exception as err:
            raise AudioDeviceError(f"{type(self).__name__}: {err}") from err
        finally:
            self.playing = False
            self._finish()

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the device."""

    @abstractmethod
    def _write(self, block: Int16Array, rate: int) -> None:
        """Play one block (blocking for real devices)."""

    def _finish(self) -> None:  # noqa: B027 - optional hook
        """Called after each playback (a device drains its buffer here)."""


class WavFileSpeaker(Speaker):
    """Records what the kiosk says, optionally paced in real time, and writes WAV files.

    Args:
        realtime: Take as long as the audio lasts (for barge-in demos).
        block_ms: Block length.
        sleep: Sleep function used for pacing.
    """

    def __init__(
        self, *, realtime: bool = False, block_ms: int = BLOCK_MS, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        super().__init__(block_ms)
        self.realtime = realtime
        self._sleep = sleep
        self.blocks: list[Int16Array] = []
        self.rate = 0

    def _write(self, block: Int16Array, rate: int) -> None:
        if self.rate and rate != self.rate:
            raise AudioDeviceError(f"rate changed from {self.rate} to {rate} Hz within one recording")
        self.rate = rate
        self.blocks.append(block.copy())
        if self.realtime:
            self._sleep(len(block) / rate)

    def take(self) -> Pcm | None:
        """Everything played since the last call, or None."""
        if not self.blocks:
            return None
        pcm = Pcm(np.concatenate(self.blocks), self.rate)
        self.blocks = []
        self.rate = 0
        return pcm

    def save(self, path: Path) -> Pcm | None:
        """Write everything played since the last take to ``path`` (atomically)."""
        pcm = self.take()
        if pcm is not None:
            write_wav(path, pcm)
        return pcm


def _sounddevice() -> Any:
    try:
        import sounddevice
    except OSError as err:  # PortAudio library missing
        raise AudioDeviceError(f"PortAudio is not available: {err}") from err
    return sounddevice


class SounddeviceMicrophone(Microphone):
    """A real microphone through PortAudio.

    Raises:
        AudioDeviceError: no input device, or PortAudio fails to open it.
    """

    def __init__(self, device: int | str | None = None, frame_ms: int = FRAME_MS) -> None:
        super().__init__(frame_ms)
        sd = _sounddevice()
        try:
            self._stream = sd.InputStream(samplerate=SAMPLE_RATE, channels=1, dtype="int16", device=device)
            self._stream.start()
        except Exception as err:
            raise AudioDeviceError(f"cannot open the microphone: {err}") from err

    def _read(self, frames: int) -> Int16Array | None:
        data, _overflowed = self._stream.read(frames)
        return np.asarray(data, dtype=np.int16).reshape(-1)

    def close(self) -> None:
        """Stop and close the stream."""
        if not self.closed:
            self._stream.stop()
            self._stream.close()
        super().close()


class SounddeviceSpeaker(Speaker):
    """A real speaker through PortAudio.

    Raises:
        AudioDeviceError: no output device, or PortAudio fails to open it.
    """

    def __init__(self, rate: int = 22050, device: int | str | None = None, block_ms: int = BLOCK_MS) -> None:
        super().__init__(block_ms)
        sd = _sounddevice()
        self.rate = rate
        try:
            self._stream = sd.OutputStream(samplerate=rate, channels=1, dtype="int16", device=device)
            self._stream.start()
        except Exception as err:
            raise AudioDeviceError(f"cannot open the speaker: {err}") from err

    def _write(self, block: Int16Array, rate: int) -> None:
        if rate != self.rate:
            raise AudioDeviceError(f"speaker opened at {self.rate} Hz, audio is {rate} Hz")
        self._stream.write(block.reshape(-1, 1))

    def close(self) -> None:
        """Stop and close the stream."""
        self._stream.stop()
        self._stream.close()


class DuplexSettings(BaseModel):
    """Half duplex and barge-in thresholds."""

    model_config = ConfigDict(frozen=True)

    barge_in: bool = Field(default=True, description="Let the customer's voice interrupt the kiosk.")
    voice_over_echo_db: float = Field(default=12.0, ge=0, description="Voice must be this much louder than the echo.")
    min_voice_dbfs: float = Field(default=-35.0, description="Quieter frames never barge in.")
    barge_in_ms: float = Field(default=120.0, gt=0, description="Sustained voice needed to barge in.")
    echo_tail_ms: float = Field(default=150.0, ge=0, description="Mic stays closed this long after speech ends.")


DuplexAction = Literal["stop_speech"]


class DuplexGate:
    """Whether the recogniser hears the microphone, and when the kiosk's speech must stop.

    Pure: fed events, frame levels and elapsed time; never reads the clock.

    Args:
        settings: Thresholds.
    """

    def __init__(self, settings: DuplexSettings | None = None) -> None:
        self.settings = settings or DuplexSettings()
        self.speaking = False
        self._tail_ms = 0.0
        self._voice_ms = 0.0
        self.echo_dbfs = -120.0

    @property
    def mic_open(self) -> bool:
        """True when microphone frames should reach the recogniser."""
        return not self.speaking and self._tail_ms <= 0

    def speech_started(self, echo_dbfs: float = -30.0) -> None:
        """The kiosk started speaking; ``echo_dbfs`` is the expected level of its echo at the mic."""
        self.speaking = True
        self.echo_dbfs = echo_dbfs
        self._voice_ms = 0.0

    def speech_ended(self) -> None:
        """The kiosk finished (or was stopped); the mic reopens after the echo tail."""
        if self.speaking:
            self.speaking = False
            self._tail_ms = self.settings.echo_tail_ms

    def touch(self) -> DuplexAction | None:
        """A touch on the screen: stops the kiosk's speech at once."""
        if self.speaking:
            self.speech_ended()
            return "stop_speech"
        return None

    def mic_frame(self, samples: Int16Array, elapsed_ms: float) -> DuplexAction | None:
        """Feed one microphone frame spanning ``elapsed_ms``; may ask to stop the speech."""
        if not self.speaking:
            self._tail_ms = max(0.0, self._tail_ms - elapsed_ms)
            return None
        if not self.settings.barge_in:
            return None
        level = rms_dbfs(samples)
        s = self.settings
        if level > max(s.min_voice_dbfs, self.echo_dbfs + s.voice_over_echo_db):
            self._voice_ms += elapsed_ms
            if self._voice_ms >= s.barge_in_ms:
                self.speech_ended()
                self._tail_ms = 0.0  # the customer is talking: listen now
                return "stop_speech"
        else:
            self._voice_ms = 0.0
        return None
