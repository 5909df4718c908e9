"""Speech synthesis with espeak-ng 1.52 (PyPI ``espeakng-loader``) through ctypes.

One synthesis call returns both the audio and the phoneme events (IPA symbol
and audio position in ms, ``espeakINITIALIZE_PHONEME_EVENTS``), so the viseme
timeline matches the audio exactly. Debian's espeak-ng 1.51 reads Mandarin
wrongly; the library and data bundled with ``espeakng-loader`` are loaded by
full path, never from the system.

libespeak-ng keeps process-wide state: one lock serialises every call.
"""

from __future__ import annotations

import ctypes
import functools
import re
import threading
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from edge_models.audio import Pcm
from edge_models.errors import ModelError, ModelMissingError
from edge_models.speech import VisemeCue, VisemeTimeline
from edge_models.tts.visemes import PhonemeEvent, timeline

VOICES: dict[str, str] = {"en": "gmw/en-us", "zh": "sit/cmn", "yue": "sit/yue", "ko": "ko"}
# The same voices without pitch flutter (espeak-ng voice files): the same text gives the same samples whatever was
# spoken before. Mandarin only: Latin letters inside Mandarin are still read by the usual English voice.
STEADY_VOICES: dict[str, Path] = {"zh": Path(__file__).resolve().parent / "steady" / "cmn"}
MAX_VOICE_PATH = 59  # espeak_SetVoiceByFile copies the path into 60 bytes and lowercases it ("+" starts a variant)
MAX_TEXT_CHARS = 2000
MAX_SENTENCE_CHARS = 160

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS = 0x0001
_INIT_PHONEME_IPA = 0x0002
_INIT_DONT_EXIT = 0x8000
_CHARS_UTF8 = 1
_ENDPAUSE = 0x1000
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_EVENT_PHONEME = 7
_PARAM_RATE = 1
_PARAM_VOLUME = 2
_LOCK = threading.Lock()


class TtsError(ModelError):
    """Synthesis failed or the text cannot be spoken."""


class TtsSettings(BaseModel):
    """How the kiosk speaks."""

    model_config = ConfigDict(frozen=True)

    rate_wpm: int = Field(
        default=165,
        ge=80,
        le=450,
        description="Speaking rate, words per minute (slower for the elderly-friendly mode).",
    )
    volume: int = Field(default=100, ge=0, le=200, description="espeak-ng volume, 100 is normal.")


class _EventId(ctypes.Union):
    _fields_ = (("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8))


class _Event(ctypes.Structure):
    _fields_ = (
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    )


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@dataclass(frozen=True, slots=True)
class Speech:
    """Synthesised audio of one text with its viseme timeline."""

    text: str
    lang: str
    pcm: Pcm
    timeline: VisemeTimeline
    compute_s: float = 0.0


@dataclass(frozen=True, slots=True)
class _Library:
    lib: ctypes.CDLL
    rate: int
    data_dir: Path
    version: str


def espeak_paths() -> tuple[Path, Path]:
    """The bundled ``libespeak-ng.so.1`` and its ``espeak-ng-data`` folder.

    Raises:
        ModelMissingError: ``espeakng-loader`` is not installed or incomplete.
    """
    try:
        import espeakng_loader
    except ImportError as err:
        raise ModelMissingError("the espeakng-loader package is not installed") from err
    base = Path(espeakng_loader.__file__).resolve().parent
    lib, data = base / "libespeak-ng.so.1", base / "espeak-ng-data"
    if not lib.is_file() or not data.is_dir():
        raise ModelMissingError(f"espeakng-loader at {base} lacks libespeak-ng.so.1 or espeak-ng-data")
    return lib, data


@functools.cache
def _library() -> _Library:
    """Load and initialise libespeak-ng once per process (it is a process-wide singleton)."""
    lib_path, data_dir = espeak_paths()
    try:
        # RTLD_GLOBAL: a later dlopen("libespeak-ng.so.1") by soname gets this same library.
        lib = ctypes.CDLL(str(lib_path), mode=ctypes.RTLD_GLOBAL)
    except OSError as err:
        raise ModelMissingError(f"cannot load {lib_path}: {err}") from err
    lib.espeak_Initialize.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int)
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_SetVoiceByName.argtypes = (ctypes.c_char_p,)
    lib.espeak_SetVoiceByFile.argtypes = (ctypes.c_char_p,)
    lib.espeak_SetParameter.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_int)
    lib.espeak_SetSynthCallback.argtypes = (_CALLBACK,)
    lib.espeak_SetSynthCallback.restype = None
    lib.espeak_Synth.argtypes = (
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_uint,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.c_uint,
        ctypes.c_void_p,
        ctypes.c_void_p,
    )
    lib.espeak_Info.argtypes = (ctypes.c_void_p,)
    lib.espeak_Info.restype = ctypes.c_char_p
    options = _INIT_PHONEME_EVENTS | _INIT_PHONEME_IPA | _INIT_DONT_EXIT
    rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, str(data_dir).encode(), options)
    if rate <= 0:
        raise ModelMissingError(f"espeak-ng failed to initialise with data at {data_dir}")
    version = (lib.espeak_Info(None) or b"?").decode()
    return _Library(lib, rate, data_dir, version)


def voice_path_fits(path: Path) -> bool:
    """Whether espeak-ng's ``SetVoiceByFile`` can open ``path`` as given (short, lower case, no ``+``)."""
    text = str(path)
    return len(text.encode()) <= MAX_VOICE_PATH and text == text.lower() and "+" not in text


@functools.cache
def steady_voice_path(lang: str) -> Path:
    """Where espeak-ng can read the steady voice of ``lang``: a copy in a short temporary folder when needed.

    An installed package's path (``/opt/kiosk/.venv/lib/python3.11/site-packages/...``) is longer
    than espeak-ng takes, and it lowercases the path; the copy lives for the process.

    Raises:
        TtsError: no steady voice for ``lang``, or no short folder to copy it into.
    """
    if lang not in STEADY_VOICES:
        raise TtsError(f"no steady voice for language {lang!r}")
    source = STEADY_VOICES[lang]
    if voice_path_fits(source):
        return source
    import atexit
    import shutil
    import tempfile

    for parent in ("/tmp", tempfile.gettempdir()):  # noqa: S108 - a short path is what espeak-ng needs
        if not Path(parent).is_dir() or not voice_path_fits(Path(parent) / "espeak-voice-xxxxxxxx" / source.name):
            continue
        folder = Path(tempfile.mkdtemp(prefix="espeak-voice-", dir=parent))
        atexit.register(shutil.rmtree, folder, True)
        target = folder / source.name
        shutil.copyfile(source, target)
        if voice_path_fits(target):
            return target
    raise TtsError(f"no folder with a path short enough for espeak-ng to read {source}")


_SENTENCE_END = re.compile(r"(?<=[。！？!?；;\n])|(?<=[.])\s+")
_CLAUSE_END = re.compile(r"(?<=[，,、：:])")


def split_sentences(text: str, max_chars: int = MAX_SENTENCE_CHARS) -> list[str]:
    """Split a reply into sentences (long ones at commas) so the first one is spoken quickly."""
    out: list[str] = []
    for raw in _SENTENCE_END.split(text):
        sentence = raw.strip()
        if not sentence:
            continue
        if len(sentence) <= max_chars:
            out.append(sentence)
            continue
        piece = ""
        for clause in _CLAUSE_END.split(sentence):
            if piece and len(piece) + len(clause) > max_chars:
                out.append(piece.strip())
                piece = ""
            piece += clause
            while len(piece) > max_chars:
                out.append(piece[:max_chars].strip())
                piece = piece[max_chars:]
        if piece.strip():
            out.append(piece.strip())
    return out


def clean_text(text: str) -> str:
    """NFC text with control characters turned into spaces, stripped."""
    text = unicodedata.normalize("NFC", text)
    return "".join(c if unicodedata.category(c)[0] != "C" else " " for c in text).strip()


def reply_sentences(text: str) -> list[str]:
    """The sentences of a reply to speak, cleaned (:func:`clean_text`) and bounded.

    Raises:
        TtsError: the text is empty or longer than ``MAX_TEXT_CHARS``.
    """
    text = clean_text(text)
    if not text:
        raise TtsError("nothing to say: the text is empty")
    if len(text) > MAX_TEXT_CHARS:
        raise TtsError(f"text of {len(text)} characters is longer than {MAX_TEXT_CHARS}")
    return split_sentences(text)


def join_speech(text: str, lang: str, parts: list[Speech], rate: int) -> Speech:
    """One clip of ``parts`` (sentences) in order, their timelines shifted to match.

    Raises:
        TtsError: no parts.
    """
    if not parts:
        raise TtsError("nothing to say")
    samples = np.concatenate([p.pcm.samples for p in parts])
    cues: list[VisemeCue] = []
    offset = 0.0
    for part in parts:
        cues.extend(
            c.model_copy(update={"start_ms": c.start_ms + offset, "end_ms": c.end_ms + offset})
            for c in part.timeline.cues
        )
        offset += part.pcm.duration_ms
    pcm = Pcm(samples, rate)
    return Speech(
        text=text,
        lang=lang,
        pcm=pcm,
        timeline=VisemeTimeline(duration_ms=pcm.duration_ms, cues=tuple(cues)),
        compute_s=sum(p.compute_s for p in parts),
    )


class EspeakSynthesizer:
    """Text to 22.05 kHz speech with a viseme timeline.

    Args:
        settings: Rate and volume.
        steady: Speak with the voices of ``STEADY_VOICES`` where there is one (no pitch
            flutter: the same text gives the same samples whatever was spoken before; the
            kiosk's own speech keeps the flutter, which sounds less mechanical).

    Raises:
        ModelMissingError: the bundled espeak-ng cannot be loaded.
    """

    def __init__(self, settings: TtsSettings | None = None, *, steady: bool = False) -> None:
        self.settings = settings or TtsSettings()
        self.steady = steady
        self._lib = _library()

    @property
    def sample_rate(self) -> int:
        """Output sample rate in Hz."""
        return self._lib.rate

    @property
    def version(self) -> str:
        """espeak-ng version string."""
        return self._lib.version

    def synthesize(self, text: str, lang: str, settings: TtsSettings | None = None) -> Speech:
        """Speak a whole text (sentence by sentence, joined into one clip).

        ``settings`` overrides the synthesiser's rate and volume for this text.

        Raises:
            TtsError: unknown language, empty or too long text, or synthesis failure.
        """
        return join_speech(text, lang, list(self.sentences(text, lang, settings)), self.sample_rate)

    def sentences(self, text: str, lang: str, settings: TtsSettings | None = None) -> Iterator[Speech]:
        """Speak ``text`` one sentence at a time (the first sound is ready after the first sentence).

        ``settings`` overrides the synthesiser's rate and volume for this text (e.g. the
        staff's current settings, read before each reply).

        Raises:
            TtsError: unknown language, empty or too long text, or synthesis failure.
        """
        if lang not in VOICES:
            raise TtsError(f"no voice for language {lang!r} (have {', '.join(VOICES)})")
        use = settings or self.settings
        for sentence in reply_sentences(text):
            yield self._synth_one(sentence, lang, use)

    def _synth_one(self, sentence: str, lang: str, settings: TtsSettings) -> Speech:
        chunks: list[bytes] = []
        events: list[PhonemeEvent] = []

        def on_audio(wav: ctypes._Pointer[ctypes.c_short], count: int, evs: ctypes._Pointer[_Event]) -> int:
            if count > 0 and wav:
                chunks.append(ctypes.string_at(wav, count * 2))
            i = 0
            while evs[i].type != _EVENT_LIST_TERMINATED:
                event = evs[i]
                if event.type == _EVENT_PHONEME:
                    symbol = event.id.string.decode("utf-8", "replace")
                    events.append(PhonemeEvent(float(event.audio_position), symbol))
                i += 1
            return 0

        callback = _CALLBACK(on_audio)
        data = sentence.encode("utf-8")
        lib = self._lib.lib
        started = time.perf_counter()
        with _LOCK:
            steady = steady_voice_path(lang) if self.steady and lang in STEADY_VOICES else None
            chosen = (
                lib.espeak_SetVoiceByFile(str(steady).encode())
                if steady
                else lib.espeak_SetVoiceByName(VOICES[lang].encode())
            )
            if chosen != 0:
                raise TtsError(f"espeak-ng has no voice {steady or VOICES[lang]}")
            lib.espeak_SetParameter(_PARAM_RATE, settings.rate_wpm, 0)
            lib.espeak_SetParameter(_PARAM_VOLUME, settings.volume, 0)
            lib.espeak_SetSynthCallback(callback)
            status = lib.espeak_Synth(data, len(data) + 1, 0, 0, 0, _CHARS_UTF8 | _ENDPAUSE, None, None)
        if status != 0:
            raise TtsError(f"espeak-ng failed to synthesise (status {status})")
        samples = np.frombuffer(b"".join(chunks), dtype="<i2").astype(np.int16)
        pcm = Pcm(samples, self.sample_rate)
        return Speech(
            text=sentence,
            lang=lang,
            pcm=pcm,
            timeline=timeline(events, pcm.duration_ms),
            compute_s=time.perf_counter() - started,
        )
