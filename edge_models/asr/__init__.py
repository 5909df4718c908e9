"""Offline speech recognition: vosk (streaming, grammar mode) and faster-whisper.

vosk and faster-whisper are imported only inside their engine modules.
"""

from edge_models.asr.base import AsrEngine, AsrError, AsrStream, AsrUnsupportedError
from edge_models.asr.bundles import AsrModels, build_default_bundle, join_parts, load_asr_bundle
from edge_models.asr.grammar import DIGITS, clean_phrase, compile_phrases
from edge_models.asr.vad import Endpointer, EndpointEvent, VadSettings

__all__ = [
    "DIGITS",
    "AsrEngine",
    "AsrError",
    "AsrModels",
    "AsrStream",
    "AsrUnsupportedError",
    "EndpointEvent",
    "Endpointer",
    "VadSettings",
    "build_default_bundle",
    "clean_phrase",
    "compile_phrases",
    "join_parts",
    "load_asr_bundle",
]
