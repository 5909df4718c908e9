"""Speech synthesis: espeak-ng 1.52 through ctypes, with a phoneme-based viseme timeline."""

from edge_models.tts.espeak import (
    VOICES,
    EspeakSynthesizer,
    Speech,
    TtsError,
    TtsSettings,
    espeak_paths,
    split_sentences,
)
from edge_models.tts.visemes import PhonemeEvent, timeline, viseme_for

__all__ = [
    "VOICES",
    "EspeakSynthesizer",
    "PhonemeEvent",
    "Speech",
    "TtsError",
    "TtsSettings",
    "espeak_paths",
    "split_sentences",
    "timeline",
    "viseme_for",
]
