"""Listening: voice turns from PCM or a microphone (VAD endpointing -> ASR -> turn), half duplex with barge-in."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from kiosk.runtime.rating import WORDS as RATING_WORDS
from kiosk.runtime.record import KioskStep, TurnRecord
from kiosk.runtime.stages import RuntimeStageError
from kiosk.runtime.turns import SORRY, Turns

if TYPE_CHECKING:
    from edge_models.asr import AsrEngine
    from edge_models.audio import Int16Array, Pcm
    from edge_models.speech import Transcript
    from hardware import Microphone
    from kiosk.dialogue import Decision
    from kiosk.voice import ListenEvent, VoiceListener


_LOG = logging.getLogger(__name__)


class Listening(Turns):
    """Voice input: one utterance from PCM or a microphone, or continuous listening on the kiosk's microphone."""

    async def voice(self, pcm: Pcm, lang: str = "auto") -> TurnRecord:
        """The customer said ``pcm`` (a whole utterance, 16 kHz mono)."""
        return await self._voice(lambda engine: (self._recognise(engine, pcm, lang), pcm), lang)

    async def listen(self, mic: Microphone, lang: str = "auto") -> TurnRecord:
        """Listen on ``mic`` until the customer's utterance ends (voice activity), then take the turn.

        One utterance, for a caller that owns the microphone; ``kiosk run`` listens
        continuously on the kiosk's own microphone instead (:meth:`_mic_loop`).
        """
        from kiosk.voice import VoiceListener, listen

        listener = VoiceListener(self.config.voice.vad, self.config.voice.duplex)

        def heard(engine: AsrEngine) -> Any:
            grammar, hints = self._phrase_lists(lang)
            heard = listen(mic, engine, lang, listener, grammar=grammar, hints=hints)
            return heard.transcript, heard.pcm

        return await self._voice(heard, lang)

    def _phrase_lists(self, lang: str) -> tuple[tuple[str, ...] | None, tuple[str, ...]]:
        """The grammar (when grammar mode is on) and the hint phrases, from the current conversation's policy."""
        from kiosk.voice import PhraseBook

        if self._phrases is None:
            self._phrases = PhraseBook()
        if self.session_id is not None:  # a new conversation gets the engine of the active bundles first
            self.conversations.session(self.session_id)
        policy = self.conversations.engine.policy
        spoken = lang if lang in ("zh", "en") else self.lang
        grammar = self._phrases.grammar(policy, spoken) if self.config.voice.grammar else None
        hints = self._phrases.hints(policy)
        if self.rating.session is not None:  # the screen asks for a rating: its words may be said
            words = RATING_WORDS["zh" if spoken == "zh" else "en"]
            grammar = None if grammar is None else (*grammar, *words)
            hints = (*hints, *words)
        return grammar, hints

    def _recognise(self, engine: AsrEngine, pcm: Pcm, lang: str) -> Transcript:
        from kiosk.voice import recognise

        grammar, hints = self._phrase_lists(lang)
        spoken = lang if lang != "auto" or not grammar else self.lang
        return recognise(engine, pcm, spoken, grammar, hints)

    async def _voice(self, recognise: Callable[[AsrEngine], Any], lang: str) -> TurnRecord:
        """A voice turn: ``recognise(engine)`` gives the transcript (or None) and the utterance's audio (or None)."""
        from edge_models.asr import AsrError
        from edge_models.asr.whisper_engine import SILENCE_DBFS
        from edge_models.audio import rms_dbfs
        from kiosk.voice import Offer, examples_for, offer_of, scorer_for, voice_utterance

        await self._interrupt()
        # While the screen asks for a rating the words may be one: no new session (and greeting) yet; if
        # they are a new question instead, the turn starts the session.
        if self.session_id is None and not self.rating.waiting(self._clock()):
            await self.arrive(lang=lang if lang in ("zh", "en") else None)  # type: ignore[arg-type]
        if self.screen is not None:
            self.screen.show(state="listening")
        started = time.perf_counter()
        try:
            engine = await self._stage("asr", self._asr_engine)
            transcript, pcm = await self._stage("asr", lambda: recognise(engine))
        except RuntimeStageError:
            transcript, pcm = None, None
        asr_ms = (time.perf_counter() - started) * 1000
        if transcript is not None:
            self._log("recognised", model=transcript.model, engine=transcript.engine)
        last = self.turns[-1] if self.turns and self.turns[-1].session == self.session_id else None
        offer = offer_of(last.buttons, last.action, last.reply) if last is not None else Offer()
        if self.session_id is None and self.rating.waiting(self._clock()):
            # the screen asks for a rating: its buttons are the choices (不满意 heard as 补 my 鳄 is still scored)
            offer = offer_of(self.rating.buttons(), "ask", self.rating.question)
        policy = self.conversations.engine.policy
        closed = self.config.voice.closed_vocabulary
        empty = transcript is None or not transcript.text.strip()
        if transcript is not None and empty and transcript.lang not in ("zh", "en"):
            transcript = transcript.model_copy(update={"lang": self.lang})  # the language the choices are offered in
        # an empty decode of audio the energy gate let through still answers the offered choices by whisper's scores
        heard = transcript is not None and (not empty or (pcm is not None and rms_dbfs(pcm.samples) >= SILENCE_DBFS))
        scorer = (
            None  # whisper's n-best (kiosk.voice.choices.alternatives_for) is not used: wrong picks, see choice_scores
        )
        examples = None  # the offered names spoken by the kiosk's voice, matched to the audio (Mandarin)
        if transcript is not None and heard and closed and offer.open:
            scorer = scorer_for(engine, pcm, transcript.lang, offer.question)
            examples = examples_for(engine, pcm, transcript.lang)
        picked = None
        if transcript is not None and heard and (not empty or scorer is not None or examples is not None):
            try:  # matching by sound (pypinyin), by the recogniser's scores and by example (model work): off the loop
                utterance, picked = await asyncio.to_thread(
                    voice_utterance, transcript, policy, offer, closed=closed, scorer=scorer, examples=examples
                )
            except AsrError:
                _LOG.warning("scoring the offered choices failed; matching by sound only", exc_info=True)
                utterance, picked = await asyncio.to_thread(voice_utterance, transcript, policy, offer, closed=closed)
        if empty and picked is None:
            reply = SORRY["asr"][self.lang]
            await self._say(reply, self.lang, "apologetic", ())
            step = KioskStep(reply, self.lang, "asr", "clarify", "apologetic", confidence=0.0)
            asr_ms = (time.perf_counter() - started) * 1000
            return self._record(
                "voice", "", step, skipped=("asr",), asr_confidence=0.0, timings_ms={"asr": round(asr_ms, 1)}
            )
        asr_ms = (time.perf_counter() - started) * 1000  # the match is part of understanding what was heard
        return await self._turn(utterance, "voice", asr_ms=asr_ms)

    def _offered(self, decision: Decision) -> None:
        """While the kiosk asks for a choice, the offered names' spoken examples are made (a loaded whisper)."""
        from kiosk.voice import offer_of, warm_examples

        if self._asr is None or not self.config.voice.closed_vocabulary:
            return
        engine = self._given_engine() or (self._asr_session[1] if self._asr_session is not None else None)
        if engine is None:
            return  # no voice turn yet: the recogniser is not loaded for this
        offer = offer_of([(b.id, b.label) for b in decision.buttons], decision.action, decision.reply)
        try:
            warm_examples(engine, self.conversations.engine.policy, offer, decision.lang)
        except Exception:  # noqa: BLE001 - a preparation: the turn is recorded whatever happens here
            _LOG.warning("could not start making the offered names' spoken examples", exc_info=True)

    def _given_engine(self) -> AsrEngine | None:
        """The recogniser itself when the kiosk was given one (not a factory of them); else None."""
        if self._asr is not None and (not callable(self._asr) or hasattr(self._asr, "transcribe")):
            return self._asr  # type: ignore[return-value]
        return None

    def _asr_engine(self) -> AsrEngine:
        """The recogniser for this conversation: a factory is asked again when a new one starts.

        So an ASR bundle the sync agent switched is used from the next conversation on,
        and the current one finishes on the engine it started with.
        """
        if self._asr is None:
            raise RuntimeStageError("no speech recognition on this kiosk")
        given = self._given_engine()
        if given is not None:
            return given
        if self._asr_session is None or self._asr_session[0] != self.session_id:
            self._asr_session = (self.session_id, self._asr())  # type: ignore[operator]
        return self._asr_session[1]

    async def _mic_loop(self) -> None:
        """Listen continuously while a customer is there: VAD endpointing -> ASR -> turn (supervised).

        Half duplex: while the kiosk speaks, frames only feed the barge-in check
        (a voice louder than the kiosk's echo by a margin stops the speech and
        starts the customer's utterance). Ends when the microphone's stream ends.
        """
        from kiosk.voice import VoiceListener

        mic = self.devices.mic
        if mic is None:
            return
        voice = self.config.voice
        listener = VoiceListener(voice.vad, voice.duplex)
        loop = asyncio.get_running_loop()
        # Its own thread: a microphone read (30 ms, blocking) never waits behind a model in the shared pool.
        reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kiosk-mic")
        try:
            await self._listen_on(mic, listener, lambda: loop.run_in_executor(reader, mic.read))
        finally:
            reader.shutdown(wait=False, cancel_futures=True)

    async def _listen_on(
        self, mic: Microphone, listener: VoiceListener, read: Callable[[], Awaitable[Int16Array | None]]
    ) -> None:
        while True:
            frame = await read()
            session = self.session_id
            if frame is None:
                flushed = listener.flush()
                if flushed is not None and session is not None:
                    self._heard(flushed, session)
                return
            if session is None:
                if listener.in_utterance:
                    listener.drop()
                continue
            if self.speaking and not listener.gate.speaking:
                listener.kiosk_speaking(self._echo_dbfs)
            elif not self.speaking and listener.gate.speaking:
                listener.kiosk_silent()
            event = listener.feed(frame, 1000.0 * len(frame) / mic.rate)
            if event is None:
                continue
            if event.kind == "barge_in":
                self._log("barge_in", by="voice")
                await self._interrupt()
            elif event.kind == "utterance":
                self._heard(event, session)

    def _heard(self, event: ListenEvent, session: str) -> None:
        """The customer finished an utterance: take the voice turn (the microphone keeps listening)."""
        pcm = event.pcm
        if pcm is None:
            return
        self._log("heard", ms=round(pcm.duration_ms), end=event.end)

        async def turn() -> None:
            async with self._heard_order:  # utterances become turns in the order they were spoken
                if self.session_id != session:  # the customer left meanwhile
                    return
                lang = self.lang if self.config.voice.lang == "session" else self.config.voice.lang
                await self._voice(lambda engine: (self._recognise(engine, pcm, lang), pcm), lang)

        task = asyncio.create_task(turn(), name="kiosk:voice-turn")
        self._voice_tasks.add(task)
        task.add_done_callback(self._voice_done)

    def _voice_done(self, task: asyncio.Task[Any]) -> None:
        self._voice_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _LOG.error("voice turn failed", exc_info=task.exception())
