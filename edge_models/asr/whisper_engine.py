"""The open-vocabulary recogniser for languages without a vosk model: faster-whisper.

whisper is not a streaming model: the stream keeps the utterance (bounded)
and decodes it when it ends, after endpointing. Chinese output is converted
to simplified characters. Silence never reaches the model (an energy gate),
and segments whisper itself marks as no speech are dropped.

Decoding is bounded: at most ``MAX_TOKENS_PER_S`` tokens per second of audio
and no repeated 3-grams, which stops whisper-base's repetition loops on
unclear Mandarin ("华华华..."). For the languages in ``hint_languages`` (none
by default) the policy's short phrases are passed as faster-whisper
``hotwords``: measured with ``scripts/bench_voice.py`` on espeak-ng Mandarin,
they made the character error rate worse (whisper-base writes the hot words
out instead of what was said), so the kiosk does not use them.

Short windows: whisper pads every utterance to a 30 s window and its encoder
cost grows with the window, so a 2 s answer cost as much as a 30 s one
(~0.4 s of encoder on two cores). The encoder here sees the utterance plus
``WINDOW_MARGIN_S`` of padding, at least ``MIN_WINDOW_S`` (see
:func:`window_frames`): measured with ``scripts/bench_voice.py --only wer``
the error rates are the same or lower (a window shorter than ~10 s made them
worse) and a call takes about a third of the time. The window depends only on
the audio's length, so the same audio always gives the same transcript.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from edge_models.asr.base import MAX_UTTERANCE_S, AsrEngine, AsrError, AsrStream
from edge_models.audio import Int16Array, rms_dbfs
from edge_models.cpu import speech_priority
from edge_models.errors import ModelCorruptError, ModelMissingError
from edge_models.speech import RecognizedWord, Transcript

_LOG = logging.getLogger(__name__)
WHISPER_FILES = ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt")
WHISPER_LANGUAGES = ("en", "zh", "yue", "ko", "ja")
AUTO = "auto"
AUTO_LANGUAGES = ("en", "zh")
SILENCE_DBFS = -50.0
_NO_SPEECH = 0.6
_LOW_LOGPROB = -1.0
MAX_TOKENS_PER_S = 8.0
MAX_NEW_TOKENS = 160  # per 30 s window; with the hot words it stays under whisper's 448
MAX_HOTWORD_CHARS = 160  # about 220 tokens of Chinese: whisper keeps at most 223 prompt tokens
MAX_HOTWORD_CJK = 8  # characters of one Chinese hot word
MAX_HOTWORD_WORDS = 3  # words of one hot word in other languages
HINT_LANGUAGES: tuple[str, ...] = ()  # measured: the policy's phrases as hot words made Mandarin worse
MIN_WINDOW_S = 10.0  # shortest encoder window (measured: 5 s windows raised the error rates)
WINDOW_MARGIN_S = 1.0  # padding after the utterance inside the window
MAX_PROMPT_TOKENS = 223  # whisper keeps at most this many tokens of previous text
FULL_WINDOW_FRAMES = 3000  # whisper's 30 s window, in 10 ms feature frames
FRAMES_PER_S = 100


def window_frames(samples: int, rate: int = 16_000) -> int:
    """Encoder window (feature frames, even) for an utterance of ``samples``: length + margin, 10 s to 30 s."""
    seconds = max(MIN_WINDOW_S, samples / rate + WINDOW_MARGIN_S)
    return min(FULL_WINDOW_FRAMES, 2 * math.ceil(seconds * FRAMES_PER_S / 2))


def _is_cjk(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" for ch in text)


def hotwords(hints: Sequence[str], lang: str, max_chars: int = MAX_HOTWORD_CHARS) -> str | None:
    """Short phrases joined into a faster-whisper ``hotwords`` string, bounded in length (None: no hints).

    Only phrases in the language's script are kept (Chinese characters for ``zh``); phrases
    longer than a few words are left out (whole questions bias more than they help), and so
    is everything past ``max_chars``.
    """
    out: list[str] = []
    size = 0
    cjk = lang in ("zh", "yue", "ja")
    for raw in hints:
        phrase = " ".join("".join(ch for ch in raw if ch.isalnum() or ch in " '-").split())
        if cjk:
            phrase = phrase.replace(" ", "")
        too_long = len(phrase) > MAX_HOTWORD_CJK if cjk else len(phrase.split()) > MAX_HOTWORD_WORDS
        if not phrase or too_long or phrase in out or _is_cjk(phrase) != cjk:
            continue
        if size + len(phrase) + 1 > max_chars:
            break
        out.append(phrase)
        size += len(phrase) + 1
    return " ".join(out) or None


def mean_log_prob(probs: Sequence[float]) -> float:
    """The mean natural log of token probabilities (each floored at 1e-9); 0 for none."""
    if not probs:
        return 0.0
    return sum(math.log(max(float(p), 1e-9)) for p in probs) / len(probs)


def repaired_merges(vocab: dict[str, int], merges: list[Any]) -> list[Any] | None:
    """The BPE merges with the two-character ones the vocabulary implies but the list lacks; None if none lack.

    In whisper's byte-level BPE the token with id ``256 + i`` is the result of merge ``i``.
    The packaged tokenizer.json lacks the first merge (``Ġ t``), so " the" was encoded as
    " " + "the" and every text given to whisper (a prompt, a text to score) read wrong.
    """
    produced = {"".join(m.split(" ") if isinstance(m, str) else m) for m in merges}
    top = 256 + len(merges) + 16  # a few lost merges at most
    missing = sorted((i, t) for t, i in vocab.items() if 256 <= i < top and t not in produced and len(t) == 2)
    if not missing:
        return None
    out = list(merges)
    as_text = not merges or isinstance(merges[0], str)
    for i, token in missing:
        out.insert(i - 256, f"{token[0]} {token[1]}" if as_text else [token[0], token[1]])
    return out


def _repair_tokenizer(model_dir: Path) -> Any | None:
    """The whisper tokenizer with :func:`repaired_merges` applied, or None when nothing needs repair."""
    import json

    import tokenizers

    spec = json.loads((model_dir / "tokenizer.json").read_text(encoding="utf-8"))
    merges = repaired_merges(spec["model"]["vocab"], spec["model"]["merges"])
    if merges is None:
        return None
    spec["model"]["merges"] = merges
    return tokenizers.Tokenizer.from_str(json.dumps(spec))


def _digest(samples: Int16Array) -> bytes:
    import hashlib

    return hashlib.blake2b(np.ascontiguousarray(samples).tobytes(), digest_size=16).digest()


def _storage(array: Any) -> Any:
    import ctranslate2

    return ctranslate2.StorageView.from_array(np.ascontiguousarray(array))


class WhisperStream(AsrStream):
    """Collects one utterance, decodes it on :meth:`finish`."""

    def __init__(self, engine: WhisperEngine, lang: str, max_seconds: float, hints: Sequence[str] = ()) -> None:
        super().__init__(max_seconds=max_seconds)
        self._engine = engine
        self._lang = lang
        self._hints = tuple(hints)
        self._chunks: list[Int16Array] = []

    def _accept(self, chunk: Int16Array) -> Transcript | None:
        self._chunks.append(chunk.copy())
        return None

    def _finish(self) -> Transcript:
        samples = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        return self._engine.decode(samples, self._lang, self._hints)


class WhisperEngine(AsrEngine):
    """A CTranslate2 whisper model (int8) for open-vocabulary recognition.

    Args:
        model_dir: Folder with ``model.bin``, ``config.json``, ``tokenizer.json``, ``vocabulary.txt``.
        name: Bundle name and version, reported in transcripts.
        threads: CPU threads for decoding.
        beam_size: Beam width (1, greedy, is fastest; 5 is whisper's default).
        languages: Languages this kiosk accepts from the model.
        hint_languages: Languages for which phrase hints become ``hotwords``.
        prompts: An ``initial_prompt`` per language (none by default: measured, it did not help).

    Raises:
        ModelMissingError: a model file is missing.
        ModelCorruptError: CTranslate2 cannot load it.
    """

    engine = "faster-whisper"
    supports_scoring = True
    score_in_decoded_script = True  # score Chinese only in the script the decode of the same audio wrote

    def __init__(
        self,
        model_dir: Path,
        *,
        name: str = "",
        threads: int = 2,
        beam_size: int = 1,
        languages: Sequence[str] = WHISPER_LANGUAGES,
        hint_languages: Sequence[str] = HINT_LANGUAGES,
        prompts: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        from faster_whisper import WhisperModel

        for rel in WHISPER_FILES:
            if not (model_dir / rel).is_file():
                raise ModelMissingError(f"whisper model {model_dir} lacks {rel}")
        try:
            self._whisper = WhisperModel(
                str(model_dir), device="cpu", compute_type="int8", cpu_threads=threads, local_files_only=True
            )
        except Exception as err:
            raise ModelCorruptError(f"faster-whisper cannot load {model_dir}: {err}") from err
        repaired = _repair_tokenizer(model_dir)
        if repaired is not None:
            _LOG.info("whisper tokenizer %s: restored missing BPE merges", model_dir)
            self._whisper.hf_tokenizer = repaired
        self._window: int | None = None  # encoder window of the decode in progress
        self._decoding = threading.Lock()
        full_encode = self._whisper.encode

        self._utterance: bytes | None = None  # digest of the audio being decoded
        self._encoded: tuple[bytes, Any] | None = None  # the last utterance's encoder output, for scoring
        self._script: tuple[bytes, str] | None = None  # the script the last decode wrote Chinese in (s2t / t2s)

        def encode(features: Any) -> Any:  # faster-whisper pads to 30 s: the encoder sees the short window
            out = full_encode(features[..., : self._window] if self._window is not None else features)
            if self._utterance is not None and self._encoded is None:  # the first window (seek 0) only
                self._encoded = (self._utterance, out)
            return out

        self._whisper.encode = encode
        self.languages = tuple(languages)
        self.model = name or model_dir.name
        self.beam_size = beam_size
        self.hint_languages = tuple(hint_languages)
        self.prompts = dict(prompts or {})
        self._opencc: dict[str, Any] = {}

    def stream(
        self,
        lang: str,
        grammar: Sequence[str] | None = None,
        *,
        max_seconds: float = MAX_UTTERANCE_S,
        hints: Sequence[str] = (),
    ) -> AsrStream:
        """Open one utterance (open vocabulary only); ``lang="auto"`` detects English or Mandarin.

        ``hints`` become hot words for the languages in ``hint_languages``.

        Raises:
            AsrUnsupportedError: another language, or grammar mode.
        """
        if lang != AUTO:
            self.check(lang, grammar)
        else:
            self.check(AUTO_LANGUAGES[0], grammar)
        return WhisperStream(self, lang, max_seconds, hints)

    def _simplify(self, text: str) -> str:
        return self._convert("t2s", text)

    def _convert(self, table: str, text: str) -> str:
        """``text`` converted by OpenCC's ``table`` (t2s: to simplified, s2t: to traditional)."""
        import opencc

        if table not in self._opencc:
            self._opencc[table] = opencc.OpenCC(table)
        return str(self._opencc[table].convert(text))

    def decode(self, samples: Int16Array, lang: str, hints: Sequence[str] = ()) -> Transcript:
        """Decode a whole utterance of 16 kHz mono int16 samples (the language detected first for ``auto``).

        The decode runs with speech priority: the LLM drops to one thread meanwhile.
        """
        with speech_priority(), self._decoding:
            self._window = window_frames(len(samples))
            fits = len(samples) / 16_000 + WINDOW_MARGIN_S <= FULL_WINDOW_FRAMES / FRAMES_PER_S  # one window
            self._utterance = _digest(samples) if fits and lang != AUTO else None
            self._encoded = None
            self._script = None
            try:
                return self._decode(samples, lang, hints)
            finally:
                self._window = None
                self._utterance = None

    def score_texts(self, samples: Int16Array, lang: str, texts: Sequence[str], *, prompt: str = "") -> list[float]:
        """How well each text explains the audio: whisper's mean log-probability per token, teacher-forced.

        The audio is encoded once, in the same window as :meth:`decode` (so the scores
        depend only on the audio), and every text, followed by the end-of-text token,
        is scored in one batch by CTranslate2's aligner (``text_token_probs``: the
        decoder's probability of each given token after the ones before it). Higher is
        better (0 at most); compare the texts of one call with each other, e.g. the
        offered choices against what :meth:`decode` heard. Mandarin is scored as
        written in the script whisper's decode of this audio wrote (when it ran just
        before, as in the kiosk, and its text shows the script), else in simplified
        and in traditional characters, the better counting (:meth:`scored_forms`).
        Measured on the tuning set (scripts/tune_choice_scores.py): the same right
        picks at about half the scoring time. An empty text (what an empty decode heard)
        is scored as whisper's own free decoding in the same context (:meth:`_free_score`):
        CTranslate2's aligner gives special tokens no probability, so the end-of-text token
        cannot be teacher-forced.
        ``prompt`` is whisper's previous text (the question the kiosk just asked: whisper
        then expects an answer to it; its last ``MAX_PROMPT_TOKENS`` tokens), empty for none.

        Raises:
            AsrUnsupportedError: ``lang`` is not one of this model's languages.
            AsrError: the model failed.
        """
        self.check(lang, None)
        if not texts:
            return []
        try:
            return self._score(samples, lang, texts, prompt)
        except Exception as err:
            _LOG.exception("whisper failed to score texts")
            raise AsrError(f"whisper failed to score texts: {err}") from err

    def _score(self, samples: Int16Array, lang: str, texts: Sequence[str], prompt: str = "") -> list[float]:
        from faster_whisper.tokenizer import Tokenizer

        with speech_priority(), self._decoding:
            encoded, content = self.encode_window(samples)
            tokenizer = Tokenizer(self._whisper.hf_tokenizer, True, task="transcribe", language=lang)
            cjk = lang in ("zh", "yue", "ja")
            variants = [self.scored_forms(samples, lang, text) if text.strip() else [] for text in texts]
            flat = [v for vs in variants for v in vs]
            tokens = [tokenizer.encode(v if cjk else " " + v) for v in flat]
            start = list(tokenizer.sot_sequence)
            if prompt.strip():
                start = [tokenizer.sot_prev, *tokenizer.encode(" " + prompt.strip())[-MAX_PROMPT_TOKENS:], *start]
            results = []
            if flat:
                batch = _storage(np.repeat(np.asarray(encoded), len(flat), axis=0))
                results = self._whisper.model.align(batch, start, tokens, [content] * len(flat))
            blank = any(not t.strip() for t in texts)
            free = self._free_score(_storage(np.asarray(encoded)), start, tokenizer, len(samples)) if blank else 0.0
        scores = iter(mean_log_prob(r.text_token_probs) for r in results)
        return [max(next(scores) for _ in vs) if vs else free for vs in variants]

    def encode_window(self, samples: Int16Array) -> tuple[Any, int]:
        """The encoder output of ``samples`` in :meth:`decode`'s window, and the mel frames of content in it.

        The output of the decode that ran on the same audio just before is reused (the
        encoder is deterministic: the same audio, the same output, whatever the load).
        The caller holds ``_decoding``.
        """
        window = window_frames(len(samples))
        mel = self._whisper.feature_extractor(samples.astype(np.float32) / 32768.0)
        content = max(1, min(window, mel.shape[-1] - 1))  # as faster-whisper's transcribe cuts it
        cached = self._encoded
        if cached is not None and cached[0] == _digest(samples):  # decoded just before
            return cached[1], content
        features = np.zeros((1, mel.shape[0], window), np.float32)
        features[0, :, :content] = mel[:, :content]
        return self._whisper.model.encode(_storage(features)), content

    def _free_score(self, encoded: Any, start: list[int], tokenizer: Any, samples: int) -> float:
        """The score of whisper's own free decoding in the scoring context: what an empty text stands for.

        Greedy, without timestamps, bounded like :meth:`decode`; CTranslate2's score is the
        mean log-probability per token (length penalty 1), as the aligned texts are scored.
        An empty decode is often whisper writing only blanks: then this score is high and
        "none of these" is likely; when it writes a word it could not say, its score is that word's.
        """
        result = self._whisper.model.generate(
            encoded,
            [[*start, tokenizer.no_timestamps]],
            beam_size=1,
            max_length=min(MAX_NEW_TOKENS, int(samples / 16_000 * MAX_TOKENS_PER_S) + 8),
            return_scores=True,
            no_repeat_ngram_size=3,
        )
        return float(result[0].scores[0])

    def scored_forms(self, samples: Int16Array, lang: str, text: str) -> list[str]:
        """The written forms of ``text`` that :meth:`score_texts` scores against ``samples`` (the better counts).

        Chinese: the script the decode of the same audio wrote in, when :meth:`decode` ran on
        it just before (as the kiosk does) and its text showed the script; else both scripts.
        """
        digest = _digest(samples)
        known = self._script is not None and self._script[0] == digest and self.score_in_decoded_script
        return self._written(text.strip(), lang, self._script[1] if known and self._script is not None else "")

    def _script_of(self, raw: str) -> tuple[bytes, str] | None:
        """(audio digest, the script whisper wrote ``raw`` in), when the raw text shows it: "t2s" for traditional."""
        if self._utterance is None:
            return None
        if self._simplify(raw) != raw:
            return self._utterance, "t2s"  # traditional characters: names are scored in traditional
        if self._convert("s2t", raw) != raw:
            return self._utterance, "s2t"  # simplified characters that have a traditional form
        return None

    def _written(self, text: str, lang: str, script: str = "") -> list[str]:
        """The ways whisper may write ``text``: Chinese in simplified and traditional characters.

        ``script`` ("s2t" or "t2s": what the free decoding of this audio wrote) keeps only that script.
        """
        if not text:
            return []
        if lang != "zh":
            return [text]
        if script == "t2s":
            return [self._convert("s2t", text)]
        if script == "s2t":
            return [self._simplify(text)]
        return list(dict.fromkeys((text, self._convert("s2t", text))))

    def _decode(self, samples: Int16Array, lang: str, hints: Sequence[str]) -> Transcript:
        empty = Transcript(text="", lang=lang, confidence=0.0, engine=self.engine, model=self.model)
        if len(samples) == 0 or rms_dbfs(samples) < SILENCE_DBFS:
            return empty
        audio = samples.astype(np.float32) / 32768.0
        if lang == AUTO:
            _best, _p, probs = self._whisper.detect_language(audio)
            scores = dict(probs)
            lang = max(AUTO_LANGUAGES, key=lambda code: scores.get(code, 0.0))
            empty = empty.model_copy(update={"lang": lang})
        segments, _info = self._whisper.transcribe(
            audio,
            language=lang,
            hotwords=hotwords(hints, lang) if lang in self.hint_languages else None,
            initial_prompt=self.prompts.get(lang),
            max_new_tokens=min(MAX_NEW_TOKENS, int(len(audio) / 16_000 * MAX_TOKENS_PER_S) + 8),
            no_repeat_ngram_size=3,
            beam_size=self.beam_size,
            temperature=0.0,
            word_timestamps=True,
            condition_on_previous_text=False,
            no_speech_threshold=None,
            log_prob_threshold=None,
            vad_filter=False,
        )
        words: list[RecognizedWord] = []
        texts: list[str] = []
        for segment in segments:
            if segment.no_speech_prob > _NO_SPEECH and segment.avg_logprob < _LOW_LOGPROB:
                continue
            texts.append(segment.text.strip())
            for w in segment.words or ():
                word = w.word.strip()
                if word:
                    start = max(0.0, float(w.start))
                    words.append(
                        RecognizedWord(
                            word=self._simplify(word) if lang == "zh" else word,
                            start_s=start,
                            end_s=max(start, float(w.end)),
                            confidence=min(1.0, max(0.0, float(w.probability))),
                        )
                    )
        text = ("" if lang in ("zh", "yue", "ja") else " ").join(t for t in texts if t)
        if lang == "zh":
            self._script = self._script_of(text)
            text = self._simplify(text)
        if not text:
            return empty
        confidence = sum(w.confidence for w in words) / len(words) if words else 0.0
        return Transcript(
            text=text,
            lang=lang,
            words=tuple(words),
            confidence=round(confidence, 4),
            engine=self.engine,
            model=self.model,
        )
