"""The speech recogniser interface: 16 kHz mono PCM chunks in, transcripts out.

An engine wraps one loaded model. :meth:`AsrEngine.stream` opens one
utterance; the stream takes PCM chunks (partial transcripts may come back)
and :meth:`AsrStream.finish` returns the final transcript with word timings
and confidences. The base classes enforce the limits (sample format, maximum
length) and turn library failures into :class:`AsrError`; a driver
implements ``_accept`` and ``_finish``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

from edge_models.audio import SAMPLE_RATE, AudioTooLongError, Int16Array, Pcm
from edge_models.errors import ModelError
from edge_models.speech import Transcript

_LOG = logging.getLogger(__name__)
MAX_UTTERANCE_S = 60.0
CHUNK_SAMPLES = 4000  # 250 ms at 16 kHz


class AsrError(ModelError):
    """A recogniser failed on audio it accepted (the library raised)."""


class AsrUnsupportedError(AsrError):
    """The engine cannot do what was asked (language, grammar mode)."""


class AsrStream(ABC):
    """One utterance being recognised.

    Args:
        max_seconds: More audio than this is refused with :class:`AudioTooLongError`.
    """

    def __init__(self, *, max_seconds: float = MAX_UTTERANCE_S) -> None:
        self._max_samples = int(max_seconds * SAMPLE_RATE)
        self._samples = 0
        self._compute_s = 0.0
        self._finished = False

    @property
    def audio_s(self) -> float:
        """Seconds of audio accepted so far."""
        return self._samples / SAMPLE_RATE

    def accept(self, chunk: Int16Array) -> Transcript | None:
        """Feed 16 kHz mono int16 samples; returns a partial transcript when the engine has one.

        Raises:
            ValueError: the chunk is not a 1-D int16 array, or the stream is finished.
            AudioTooLongError: the utterance grew past its bound.
            AsrError: the recogniser failed.
        """
        if self._finished:
            raise ValueError("the stream is finished")
        if not isinstance(chunk, np.ndarray) or chunk.dtype != np.int16 or chunk.ndim != 1:
            raise ValueError("chunks must be 1-D int16 arrays of 16 kHz mono samples")
        if self._samples + len(chunk) > self._max_samples:
            raise AudioTooLongError(f"utterance longer than {self._max_samples / SAMPLE_RATE:.0f} s")
        self._samples += len(chunk)
        started = time.perf_counter()
        try:
            return self._accept(chunk)
        except (ValueError, AsrError):
            raise
        except Exception as err:
            _LOG.exception("recogniser failed on a chunk")
            raise AsrError(f"recogniser failed: {err}") from err
        finally:
            self._compute_s += time.perf_counter() - started

    def finish(self) -> Transcript:
        """End the utterance and return the final transcript.

        Raises:
            AsrError: the recogniser failed.
        """
        if self._finished:
            raise ValueError("the stream is finished")
        self._finished = True
        started = time.perf_counter()
        try:
            result = self._finish()
        except AsrError:
            raise
        except Exception as err:
            _LOG.exception("recogniser failed to finish")
            raise AsrError(f"recogniser failed: {err}") from err
        compute = self._compute_s + time.perf_counter() - started
        return result.model_copy(update={"audio_s": round(self.audio_s, 3), "compute_s": round(compute, 4)})

    @abstractmethod
    def _accept(self, chunk: Int16Array) -> Transcript | None: ...

    @abstractmethod
    def _finish(self) -> Transcript: ...


class AsrEngine(ABC):
    """A loaded speech recognition model; one utterance at a time (a lock guards the model)."""

    engine: str = ""
    model: str = ""
    languages: tuple[str, ...] = ()
    supports_grammar: bool = False
    supports_scoring: bool = False  # score_texts: how well given texts explain an utterance

    def __init__(self) -> None:
        self.lock = threading.Lock()

    def check(self, lang: str, grammar: Sequence[str] | None) -> None:
        """Raise :class:`AsrUnsupportedError` when this engine cannot serve the request."""
        if lang not in self.languages:
            raise AsrUnsupportedError(f"{self.engine} model {self.model} has no language {lang!r}")
        if grammar is not None and not self.supports_grammar:
            raise AsrUnsupportedError(f"{self.engine} has no grammar mode; install a vosk model for {lang!r}")

    @abstractmethod
    def stream(
        self,
        lang: str,
        grammar: Sequence[str] | None = None,
        *,
        max_seconds: float = MAX_UTTERANCE_S,
        hints: Sequence[str] = (),
    ) -> AsrStream:
        """Open one utterance in ``lang``; ``grammar`` restricts it to those phrases.

        ``hints`` are phrases the customer is likely to say (the policy's); an
        open-vocabulary engine may use them to bias decoding, others ignore them.

        Raises:
            AsrUnsupportedError: language or grammar mode not available.
        """

    def score_texts(self, samples: Int16Array, lang: str, texts: Sequence[str], *, prompt: str = "") -> list[float]:
        """How well each text explains the audio (higher is better), for engines with ``supports_scoring``.

        ``prompt``: the conversation's previous text (what the kiosk asked), empty for none.

        Raises:
            AsrUnsupportedError: this engine cannot score given texts, or not in ``lang``.
        """
        raise AsrUnsupportedError(f"{self.engine} cannot score given texts")

    def transcribe(
        self, pcm: Pcm, lang: str, grammar: Sequence[str] | None = None, *, hints: Sequence[str] = ()
    ) -> Transcript:
        """Recognise a whole recording (the stream fed in 250 ms chunks); ``hints`` as in :meth:`stream`.

        Raises:
            AsrUnsupportedError: language or grammar mode not available.
            AudioTooLongError: the recording is longer than the stream's bound.
            AsrError: the recogniser failed.
        """
        if pcm.rate != SAMPLE_RATE:
            raise ValueError(f"expected {SAMPLE_RATE} Hz audio, got {pcm.rate} Hz")
        with self.lock:
            stream = self.stream(lang, grammar, max_seconds=max(MAX_UTTERANCE_S, pcm.duration_s + 1), hints=hints)
            for start in range(0, len(pcm.samples), CHUNK_SAMPLES):
                stream.accept(pcm.samples[start : start + CHUNK_SAMPLES])
            return stream.finish()

    async def transcribe_async(
        self, pcm: Pcm, lang: str, grammar: Sequence[str] | None = None, *, hints: Sequence[str] = ()
    ) -> Transcript:
        """:meth:`transcribe` in a worker thread, off the event loop (the model lock serialises calls)."""
        return await asyncio.to_thread(lambda: self.transcribe(pcm, lang, grammar, hints=hints))
