"""The kiosk's ears and voice.

``turn`` listens and speaks a turn, ``choices`` matches spoken answers to the screen's choices,
``files`` runs voice turns from WAV files for ``kiosk chat --voice``.
"""

from kiosk.voice.choices import (
    Offer,
    choices,
    examples_for,
    offer_of,
    pick,
    plain_aliases,
    scorer_for,
    value_phrases,
    voice_utterance,
    warm_examples,
)
from kiosk.voice.files import file_lang, voice_files, voice_turns
from kiosk.voice.turn import (
    ListenEvent,
    PhraseBook,
    VoiceConfig,
    VoiceListener,
    listen,
    policy_phrases,
    recognise,
    speak,
    speech_settings,
    staff_voice,
)

__all__ = [
    "ListenEvent",
    "Offer",
    "PhraseBook",
    "VoiceConfig",
    "VoiceListener",
    "choices",
    "examples_for",
    "file_lang",
    "listen",
    "offer_of",
    "pick",
    "plain_aliases",
    "policy_phrases",
    "recognise",
    "scorer_for",
    "speak",
    "speech_settings",
    "staff_voice",
    "value_phrases",
    "voice_files",
    "voice_turns",
    "voice_utterance",
    "warm_examples",
]
