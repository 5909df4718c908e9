"""The kiosk speaking: TTS sentence by sentence on the speaker and the avatar; barge-in stops it."""

from __future__ import annotations

import asyncio
import functools
import time
from typing import TYPE_CHECKING, Any, Literal

from kiosk.runtime.stages import RuntimeParts, RuntimeStageError

if TYPE_CHECKING:
    from edge_models.tts import TtsSettings


Lang = Literal["zh", "en"]


class Speaking(RuntimeParts):
    """The kiosk speaking: a reply sentence by sentence, interrupted by barge-in."""

    async def _say(
        self,
        text: str,
        lang: Lang,
        emotion: str,
        buttons: tuple[tuple[str, str], ...],
        timings: dict[str, float] | None = None,
    ) -> None:
        """Start speaking ``text`` (returns when the first sentence is playing); TTS failure: subtitles only."""
        from avatar.lipsync import timeline_from_text

        await self._interrupt()
        started = time.perf_counter()
        first = None
        settings: TtsSettings | None = None
        if self.synth is not None and self.config.speak:
            synth = self.synth

            def first_sentence() -> tuple[Any, TtsSettings]:
                settings = self._speech_settings()
                return next(iter(synth.sentences(text, lang, settings))), settings

            try:
                first, settings = await self._stage("tts", first_sentence)
            except RuntimeStageError:
                first = None
        if timings is not None:
            timings["first_audio"] = round((time.perf_counter() - started) * 1000, 1)
        if first is None:
            if self.screen is not None:
                self.screen.speak(timeline_from_text(text, lang), text, lang, emotion, buttons)
            return
        from edge_models.audio import rms_dbfs

        self._echo_dbfs = rms_dbfs(first.pcm.samples) + self.config.voice.echo_coupling_db
        self._speaking = asyncio.create_task(self._play(text, lang, emotion, buttons, first, settings=settings))

    def _speech_settings(self) -> TtsSettings:
        """Rate and volume of the next reply: the kiosk's voice settings and the staff's (read now)."""
        from kiosk.voice import speech_settings, staff_voice

        store = self.conversations.store
        staff = staff_voice(store.get_setting) if store is not None else {}
        if self.elderly:
            staff["elderly_mode"] = True
        return speech_settings(self.config.voice, staff)

    async def _play(
        self,
        text: str,
        lang: Lang,
        emotion: str,
        buttons: tuple[tuple[str, str], ...],
        first: Any,
        *,
        settings: TtsSettings | None = None,
    ) -> None:
        """Play the reply sentence by sentence; the next one is synthesised while one plays."""
        from edge_models.tts.espeak import split_sentences

        synth = self.synth
        speaker = self.devices.speaker
        sentences = split_sentences(text)
        speech = first
        upcoming: asyncio.Task[Any] | None = None  # the next sentence, synthesised while this one plays
        try:
            for index in range(len(sentences)):
                if index > 0:
                    if upcoming is None:
                        return
                    try:
                        speech = await upcoming
                    except RuntimeStageError:
                        return
                upcoming = None
                if synth is not None and index + 1 < len(sentences):
                    sentence = sentences[index + 1]
                    upcoming = asyncio.create_task(
                        self._stage("tts", lambda s=sentence: synth.synthesize(s, lang, settings))  # type: ignore[misc]
                    )
                if self.screen is not None:
                    self.screen.speak(speech.timeline, text, lang, emotion, buttons)
                if speaker is None:
                    await asyncio.sleep(speech.pcm.duration_s)
                    continue
                epoch = speaker.epoch  # a stop() from now on stops this sentence, even before it begins
                try:
                    done = await asyncio.to_thread(functools.partial(speaker.play, speech.pcm, epoch=epoch))
                finally:
                    take = getattr(speaker, "take", None)
                    if take is not None:
                        take()  # the simulated speaker keeps nothing between replies
                if not done:
                    return
        finally:
            if upcoming is not None:
                upcoming.cancel()
                upcoming.add_done_callback(lambda t: t.cancelled() or t.exception())  # its failure was logged

    async def _interrupt(self) -> None:
        """Stop the kiosk's speech (barge-in, new turn, session end)."""
        task = self._speaking
        if task is None or task.done():
            return
        if self.devices.speaker is not None:
            self.devices.speaker.stop()
        task.cancel()
        await asyncio.wait([task], timeout=2.0)
        self._speaking = None
        if self.screen is not None:
            self.screen.stop_speaking()

    @property
    def speaking(self) -> bool:
        """True while the kiosk's speech is playing."""
        return self._speaking is not None and not self._speaking.done()

    async def wait_speech(self, timeout_s: float = 60.0) -> None:
        """Wait until the kiosk has finished speaking (demo and tests)."""
        task = self._speaking
        if task is not None and not task.done():
            await asyncio.wait([task], timeout=timeout_s)
