"""Voice commands: ``kiosk asr``, ``kiosk say`` and voice turns for ``kiosk chat --voice``.

Heavy libraries (vosk, faster-whisper, espeak-ng) load inside the commands,
so ``kiosk --help`` stays fast. The voice turn pipeline lives here too:
microphone frames -> endpointing -> recogniser -> dialogue engine -> speech.
"""

from __future__ import annotations

import json
import sys
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kiosk.config import default_state_dir

if TYPE_CHECKING:
    from edge_models.asr import AsrEngine, Endpointer
    from edge_models.speech import Transcript
    from edge_models.tts import EspeakSynthesizer
    from hardware.audio import Microphone, Speaker
    from kiosk.conversation import Conversations
    from kiosk.policy import Policy

ASR_LANGS = ("zh", "en", "ko", "auto")
TTS_LANGS = ("zh", "en", "yue")
PREROLL_FRAMES = 10  # 300 ms of audio kept from before speech was detected

_STATE = Annotated[
    Path,
    typer.Option("--state-dir", envvar="KIOSK_STATE_DIR", help="State directory (bundles, kiosk.db)."),
]


def _emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _fail(message: str) -> typer.Exit:
    typer.echo(f"kiosk: {message}", err=True)
    return typer.Exit(1)


def policy_phrases(policy: Policy, lang: str) -> list[str]:
    """Phrases for grammar mode from the policy: FAQ questions, service names, currencies."""
    if lang not in ("zh", "en"):
        return []
    phrases = [entry.question.get(lang) for entry in policy.knowledge.faq]
    phrases += [service.label.get(lang) for service in policy.flows.queue_services]
    phrases += [currency.name.get(lang) for currency in policy.rates.exchange.currencies]
    phrases += [name.get(lang) for name in policy.messages.intent_names.values()]
    return phrases


def _grammar(lang: str, phrases_file: Path | None, state_dir: Path) -> tuple[str, ...]:
    """The phrase list: from a file, else from the active policy (so it follows policy updates)."""
    from edge_models.asr import compile_phrases

    if phrases_file is not None:
        try:
            raw = phrases_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as err:
            raise _fail(f"cannot read phrases from {phrases_file}: {err}") from err
    else:
        from kiosk.assembly import Health, load_active_policy
        from kiosk.config import Settings
        from kiosk.policy import PolicyError

        try:
            policy = load_active_policy(Settings(state_dir=state_dir), Health())
        except PolicyError as err:
            raise _fail(f"no usable policy for grammar phrases: {err}") from err
        raw = policy_phrases(policy, lang)
    grammar = compile_phrases(raw, lang, digits=False)
    if not grammar:
        raise _fail(f"no grammar phrases for {lang!r}: pass --phrases FILE (one phrase per line)")
    return compile_phrases(raw, lang)


def transcript_json(t: Transcript) -> dict[str, Any]:
    """The JSON shape ``kiosk asr`` prints."""
    return {
        "text": t.text,
        "lang": t.lang,
        "confidence": t.confidence,
        "words": [
            {"word": w.word, "start": round(w.start_s, 3), "end": round(w.end_s, 3), "confidence": w.confidence}
            for w in t.words
        ],
        "engine": t.engine,
        "model": t.model,
        "mode": t.mode,
        "audio_s": t.audio_s,
        "rtf": round(t.rtf, 4),
    }


def asr(  # noqa: PLR0917 - a typer command: every option is a parameter
    file: Annotated[Path, typer.Argument(help="A WAV file (converted to 16 kHz mono).")],
    lang: Annotated[str, typer.Option("--lang", help="zh, en, ko, or auto (English or Mandarin).")] = "zh",
    grammar: Annotated[bool, typer.Option("--grammar", help="Grammar mode: only the policy's phrases.")] = False,
    phrases: Annotated[Path | None, typer.Option("--phrases", help="Grammar phrases, one per line.")] = None,
    state_dir: _STATE = default_state_dir(),  # noqa: B008
    threads: Annotated[int, typer.Option(help="CPU threads for whisper.")] = 2,
) -> None:
    """Recognise speech in a WAV file; print JSON with text, words, engine, model and real-time factor."""
    from edge_models.asr import AsrModels, AsrUnsupportedError
    from edge_models.audio import AudioError, read_wav
    from edge_models.errors import ModelError

    if lang not in ASR_LANGS:
        raise _fail(f"--lang must be one of {', '.join(ASR_LANGS)}")
    try:
        pcm = read_wav(file)
    except AudioError as err:
        raise _fail(f"audio rejected: {err}") from err
    phrase_list = _grammar(lang, phrases, state_dir) if grammar else None
    try:
        engine = AsrModels(state_dir, threads=threads).engine_for(lang, grammar=grammar)
        transcript = engine.transcribe(pcm, lang, phrase_list)
    except AsrUnsupportedError as err:
        raise _fail(str(err)) from err
    except (AudioError, ModelError) as err:
        raise _fail(f"speech recognition failed: {err}") from err
    _emit(transcript_json(transcript))


def say(
    text: Annotated[str, typer.Argument(help="What to say.")],
    out: Annotated[Path, typer.Option("--out", help="The WAV file to write.")],
    lang: Annotated[str, typer.Option("--lang", help="zh, en or yue.")] = "zh",
    rate: Annotated[int, typer.Option(help="Words per minute (80-450; slower for elderly-friendly mode).")] = 165,
    volume: Annotated[int, typer.Option(help="Volume, 0-200 (100 normal).")] = 100,
) -> None:
    """Speak a text into a WAV file; print JSON with the duration and the viseme timeline."""
    from pydantic import ValidationError

    from edge_models.audio import write_wav
    from edge_models.errors import ModelError
    from edge_models.tts import EspeakSynthesizer, TtsSettings

    if lang not in TTS_LANGS:
        raise _fail(f"--lang must be one of {', '.join(TTS_LANGS)}")
    try:
        settings = TtsSettings(rate_wpm=rate, volume=volume)
    except ValidationError as err:
        raise _fail(f"bad setting: {err.errors()[0]['loc'][0]}: {err.errors()[0]['msg']}") from err
    try:
        speech = EspeakSynthesizer(settings).synthesize(text, lang)
        write_wav(out, speech.pcm)
    except (ModelError, OSError) as err:
        raise _fail(f"speech synthesis failed: {err}") from err
    _emit(
        {
            "out": str(out),
            "lang": lang,
            "duration_ms": round(speech.pcm.duration_ms, 1),
            "sample_rate": speech.pcm.rate,
            "visemes": [c.model_dump() for c in speech.timeline.cues],
        }
    )


def register(app: typer.Typer) -> None:
    """Add the voice commands to the ``kiosk`` command."""
    app.command("asr")(asr)
    app.command("say")(say)


# -- voice turns -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Heard:
    """What listening to one utterance gave.

    Attributes:
        transcript: The final transcript (None when nobody spoke).
        event: How listening ended: speech_end, max_length, timeout or end_of_stream.
        asr_ms: Wall time from the end-of-speech decision to the final transcript.
    """

    transcript: Transcript | None
    event: str
    asr_ms: float


def listen(mic: Microphone, engine: AsrEngine, lang: str, endpointer: Endpointer) -> Heard:
    """Read frames until an utterance ends (or nobody speaks) and recognise it.

    Raises:
        edge_models.asr.AsrError: the recogniser failed.
        hardware.audio.AudioDeviceError: the microphone failed.
    """
    endpointer.reset()
    preroll: deque[Any] = deque(maxlen=PREROLL_FRAMES)
    with engine.lock:
        stream = None
        while (frame := mic.read()) is not None:
            event = endpointer.process(frame, 1000.0 * len(frame) / mic.rate)
            if stream is None:
                preroll.append(frame)
                if event == "speech_start":
                    stream = engine.stream(lang, max_seconds=endpointer.settings.max_utterance_ms / 1000 + 2)
                    for earlier in preroll:
                        stream.accept(earlier)
                elif event == "timeout":
                    return Heard(None, "timeout", 0.0)
                continue
            stream.accept(frame)
            if event in ("speech_end", "max_length"):
                started = time.perf_counter()
                transcript = stream.finish()
                return Heard(transcript, event, (time.perf_counter() - started) * 1000)
        if stream is None:
            return Heard(None, "end_of_stream", 0.0)
        started = time.perf_counter()
        transcript = stream.finish()
        return Heard(transcript, "end_of_stream", (time.perf_counter() - started) * 1000)


@dataclass(frozen=True, slots=True)
class SpokenReply:
    """Timing of speaking one reply."""

    first_audio_ms: float
    duration_ms: float
    completed: bool


def speak(synth: EspeakSynthesizer, speaker: Speaker, text: str, lang: str) -> SpokenReply:
    """Speak ``text`` sentence by sentence; the first sentence plays as soon as it is ready."""
    started = time.perf_counter()
    first: float | None = None
    duration = 0.0
    for sentence in synth.sentences(text, lang):
        if first is None:
            first = (time.perf_counter() - started) * 1000
        duration += sentence.pcm.duration_ms
        if not speaker.play(sentence.pcm):
            return SpokenReply(first, duration, completed=False)
    return SpokenReply(first or 0.0, duration, completed=True)


def voice_files(path: Path) -> list[Path]:
    """The WAV file, or the folder's WAV files in name order.

    Raises:
        FileNotFoundError: nothing there, or a folder without WAV files.
    """
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".wav" and p.is_file())
        if files:
            return files
        raise FileNotFoundError(f"{path} holds no .wav files")
    raise FileNotFoundError(f"{path} does not exist")


def file_lang(path: Path) -> str | None:
    """The language a file name declares (``hello.en.wav``, ``q1-zh.wav``), if any."""
    stem = path.stem.lower()
    for code in ("zh", "en"):
        if stem.endswith((f".{code}", f"-{code}", f"_{code}")):
            return code
    return None


def voice_turns(
    conversations: Conversations,
    engine: AsrEngine,
    synth: EspeakSynthesizer,
    files: Sequence[Path],
    out_dir: Path,
    *,
    lang: str = "auto",
    session_id: str = "voice",
) -> Iterator[dict[str, Any]]:
    """Run one voice turn per WAV file: listen, decide, speak into ``out_dir``; yield one result each.

    The language is the file name's (``*.zh.wav``, ``*-en.wav``) or ``lang``
    (``auto``: whisper tells English from Mandarin, at the cost of one more encoder pass).
    """
    from edge_models.asr import Endpointer
    from edge_models.audio import AudioError
    from hardware.audio import WavFileMicrophone, WavFileSpeaker
    from kiosk.dialogue.utterance import Utterance
    from kiosk.masking import mask_pii

    endpointer = Endpointer()
    speaker = WavFileSpeaker()
    out_dir.mkdir(parents=True, exist_ok=True)
    for number, path in enumerate(files, start=1):
        try:
            mic = WavFileMicrophone(path)
        except AudioError as err:
            yield {"error": f"audio rejected: {err}", "file": str(path)}
            continue
        heard = listen(mic, engine, file_lang(path) or lang, endpointer)
        transcript = heard.transcript
        text = transcript.text if transcript else ""
        hint = transcript.lang if transcript and transcript.lang in ("zh", "en") else None
        utterance = Utterance(
            text=text, source="voice", lang=hint, asr_confidence=transcript.confidence if transcript else 0.0
        )
        session = conversations.session(session_id)
        started = time.perf_counter()
        decision = conversations.engine.handle(session, utterance, datetime.now(UTC))
        decide_ms = (time.perf_counter() - started) * 1000
        if conversations.store is not None:
            conversations.store.record_turn(session_id, "voice", text, decision, decide_ms)
        spoken = speak(synth, speaker, decision.reply, decision.lang)
        out = out_dir / f"{number:03d}-{path.stem}-reply.wav"
        speaker.save(out)
        yield {
            "session": session_id,
            "file": str(path),
            "heard": mask_pii(text),
            "asr_confidence": round(utterance.asr_confidence or 0.0, 4),
            "asr_engine": transcript.engine if transcript else "",
            "listen_end": heard.event,
            "reply": decision.reply,
            "lang": decision.lang,
            "intent": decision.intent,
            "stage": decision.stage,
            "confidence": decision.confidence,
            "action": decision.action,
            "buttons": [b.model_dump() for b in decision.buttons],
            "out": str(out),
            "timings_ms": {
                "asr": round(heard.asr_ms, 1),
                "decide": round(decide_ms, 2),
                "tts_first_audio": round(spoken.first_audio_ms, 1),
                "end_of_speech_to_audio": round(heard.asr_ms + decide_ms + spoken.first_audio_ms, 1),
            },
        }


def voice_chat(state_dir: Path, no_model: bool, voice: Path, out_dir: Path | None, lang: str = "auto") -> None:
    """``kiosk chat --voice``: full voice turns from a WAV file or a folder of them."""
    from edge_models.asr import AsrModels, AsrUnsupportedError
    from edge_models.errors import ModelError
    from edge_models.tts import EspeakSynthesizer
    from kiosk.assembly import build_engine
    from kiosk.config import Settings
    from kiosk.conversation import Conversations
    from kiosk.store import Store

    try:
        files = voice_files(voice)
    except FileNotFoundError as err:
        raise _fail(str(err)) from err
    settings = Settings(state_dir=state_dir, use_model=not no_model)
    try:
        asr_engine = AsrModels(state_dir).engine_for(lang)
        synth = EspeakSynthesizer()
    except (AsrUnsupportedError, ModelError) as err:
        raise _fail(f"voice is not available: {err}") from err
    store = Store(settings.db_path)
    try:
        engine, health = build_engine(settings, tickets=store)
        for problem in health.problems:
            typer.echo(f"kiosk: {problem}", err=True)
        conversations = Conversations(engine, store)
        target = out_dir or (voice if voice.is_dir() else voice.parent) / "replies"
        for result in voice_turns(conversations, asr_engine, synth, files, target, lang=lang):
            _emit(result)
    finally:
        store.close()
