"""``kiosk chat --voice``: one voice turn per WAV file, through the same listener, door and voice as the kiosk."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.voice.turn import (
    PhraseBook,
    VoiceConfig,
    VoiceListener,
    listen,
    speak,
    speech_settings,
    staff_voice,
    transcript_or_empty,
)

if TYPE_CHECKING:
    from edge_models.asr import AsrEngine
    from edge_models.tts import EspeakSynthesizer
    from kiosk.conversation import Conversations


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
    config: VoiceConfig | None = None,
) -> Iterator[dict[str, Any]]:
    """Run one voice turn per WAV file: listen, decide, speak into ``out_dir``; yield one result each.

    The language is the file name's (``*.zh.wav``, ``*-en.wav``) or ``lang``
    (``auto``: whisper tells English from Mandarin, at the cost of one more encoder pass).
    The speech rate and volume are ``config``'s, adjusted by the staff's settings in the store.
    """
    from edge_models.asr import AsrError
    from edge_models.audio import AudioError
    from hardware import WavFileMicrophone, WavFileSpeaker
    from kiosk.dialogue import decision_fields
    from kiosk.privacy import mask_pii
    from kiosk.voice.choices import Offer, examples_for, offer_of, scorer_for, voice_utterance

    config = config or VoiceConfig()
    offer = Offer()
    listener = VoiceListener(config.vad, config.duplex)
    phrases = PhraseBook()
    speaker = WavFileSpeaker()
    out_dir.mkdir(parents=True, exist_ok=True)
    for number, path in enumerate(files, start=1):
        try:
            mic = WavFileMicrophone(path)
        except AudioError as err:
            yield {"error": f"audio rejected: {err}", "file": str(path)}
            continue
        spoken_lang = file_lang(path) or lang
        conversations.session(session_id)  # a new conversation first gets the engine of the active bundles
        policy = conversations.engine.policy
        grammar = phrases.grammar(policy, spoken_lang) if config.grammar else None
        heard = listen(mic, engine, spoken_lang, listener, grammar=grammar, hints=phrases.hints(policy))
        transcript = heard.transcript
        text = transcript.text if transcript else ""
        started = time.perf_counter()
        heard_as = transcript_or_empty(transcript)
        closed = config.closed_vocabulary
        scorer = scorer_for(engine, heard.pcm, heard_as.lang, offer.question) if closed else None
        examples = examples_for(engine, heard.pcm, heard_as.lang) if closed else None
        try:
            utterance, picked = voice_utterance(
                heard_as, policy, offer, closed=closed, scorer=scorer, examples=examples
            )
        except AsrError:  # scoring or encoding failed: matched by sound only, as the runtime does
            utterance, picked = voice_utterance(heard_as, policy, offer, closed=closed)
        match_ms = (time.perf_counter() - started) * 1000
        decision, engine_ms = conversations.turn(session_id, utterance=utterance)  # stored, hand-off queued, ended
        decide_ms = match_ms + engine_ms
        offer = offer_of([(b.id, b.label) for b in decision.buttons], decision.action, decision.reply)
        store = conversations.store
        staff = staff_voice(store.get_setting) if store is not None else {}
        spoken = speak(synth, speaker, decision.reply, decision.lang, speech_settings(config, staff))
        out = out_dir / f"{number:03d}-{path.stem}-reply.wav"
        speaker.save(out)
        yield {
            "session": session_id,
            "file": str(path),
            "heard": mask_pii(text),
            "asr_confidence": round(utterance.asr_confidence or 0.0, 4),
            "asr_engine": transcript.engine if transcript else "",
            "picked": {"button": picked.key, "confidence": picked.confidence} if picked else None,
            "listen_end": heard.event,
            **decision_fields(decision),
            "out": str(out),
            "timings_ms": {
                "asr": round(heard.asr_ms, 1),
                "decide": round(decide_ms, 2),
                "tts_first_audio": round(spoken.first_audio_ms, 1),
                "end_of_speech_to_audio": round(heard.asr_ms + decide_ms + spoken.first_audio_ms, 1),
            },
        }
