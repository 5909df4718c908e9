"""The kiosk's ears and voice.

``turn`` listens and speaks a turn, ``choices`` matches spoken answers to the screen's choices,
``files`` runs voice turns from WAV files for ``kiosk chat --voice``.
"""

from kiosk.voice.turn import VoiceConfig, VoiceListener, listen, speak

__all__ = ["VoiceConfig", "VoiceListener", "listen", "speak"]
