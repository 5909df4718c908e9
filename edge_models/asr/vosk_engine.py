"""The streaming recogniser: vosk (Kaldi), open vocabulary or grammar mode.

Grammar mode ("speech to phrase") restricts decoding to a phrase list; vosk
then always picks listed words, so the word confidences matter: the kiosk
asks the customer to repeat below the policy's threshold.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from edge_models.asr.base import MAX_UTTERANCE_S, AsrEngine, AsrStream
from edge_models.audio import SAMPLE_RATE, Int16Array
from edge_models.errors import ModelCorruptError, ModelMissingError
from edge_models.speech import RecognizedWord, Transcript

_LOG = logging.getLogger(__name__)
_REQUIRED = ("am/final.mdl", "conf/model.conf")


def _words(result: dict[str, Any]) -> list[RecognizedWord]:
    return [
        RecognizedWord(
            word=str(w["word"]),
            start_s=max(0.0, float(w["start"])),
            end_s=max(0.0, float(w["end"]), float(w["start"])),
            confidence=min(1.0, max(0.0, float(w.get("conf", 0.0)))),
        )
        for w in result.get("result", ())
    ]


class VoskStream(AsrStream):
    """One utterance through a ``KaldiRecognizer``; vosk's own segment ends are joined."""

    def __init__(self, engine: VoskEngine, lang: str, grammar: Sequence[str] | None, max_seconds: float) -> None:
        super().__init__(max_seconds=max_seconds)
        import vosk

        self._engine = engine
        self._lang = lang
        self._grammar = grammar is not None
        if grammar is not None:
            self._rec = vosk.KaldiRecognizer(
                engine.vosk_model, SAMPLE_RATE, json.dumps(list(grammar), ensure_ascii=False)
            )
        else:
            self._rec = vosk.KaldiRecognizer(engine.vosk_model, SAMPLE_RATE)
        self._rec.SetWords(True)
        self._done: list[RecognizedWord] = []

    def _transcript(self, words: list[RecognizedWord], *, final: bool, text: str | None = None) -> Transcript:
        confidence = sum(w.confidence for w in words) / len(words) if words else 0.0
        return Transcript(
            text=text if text is not None else " ".join(w.word for w in words),
            lang=self._lang,
            words=tuple(words),
            confidence=round(confidence, 4),
            final=final,
            engine=self._engine.engine,
            model=self._engine.model,
            mode="grammar" if self._grammar else "open",
        )

    def _accept(self, chunk: Int16Array) -> Transcript | None:
        if self._rec.AcceptWaveform(chunk.astype("<i2").tobytes()):
            self._done.extend(_words(json.loads(self._rec.Result())))
            return None
        partial = str(json.loads(self._rec.PartialResult()).get("partial", ""))
        if not partial:
            return None
        text = " ".join([*(w.word for w in self._done), partial])
        return self._transcript(list(self._done), final=False, text=text)

    def _finish(self) -> Transcript:
        self._done.extend(_words(json.loads(self._rec.FinalResult())))
        return self._transcript(self._done, final=True)


class VoskEngine(AsrEngine):
    """A vosk model for one language.

    Args:
        model_dir: The vosk model folder (``am/``, ``conf/``, ``graph/`` ...).
        lang: Its language code.
        name: Bundle name and version, reported in transcripts.

    Raises:
        ModelMissingError: the folder or a required file is missing.
        ModelCorruptError: vosk cannot load the model.
    """

    engine = "vosk"
    supports_grammar = True

    def __init__(self, model_dir: Path, lang: str, *, name: str = "") -> None:
        super().__init__()
        import vosk

        for rel in _REQUIRED:
            if not (model_dir / rel).is_file():
                raise ModelMissingError(f"vosk model {model_dir} lacks {rel}")
        vosk.SetLogLevel(-1)
        try:
            self.vosk_model = vosk.Model(str(model_dir))
        except Exception as err:
            raise ModelCorruptError(f"vosk cannot load {model_dir}: {err}") from err
        self.languages = (lang,)
        self.model = name or model_dir.name

    def stream(
        self,
        lang: str,
        grammar: Sequence[str] | None = None,
        *,
        max_seconds: float = MAX_UTTERANCE_S,
        hints: Sequence[str] = (),
    ) -> AsrStream:
        """Open one utterance; ``grammar`` (phrases) switches to grammar mode (``hints`` are not used).

        Raises:
            AsrUnsupportedError: another language.
        """
        self.check(lang, grammar)
        return VoskStream(self, lang, grammar, max_seconds)
