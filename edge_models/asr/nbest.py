"""whisper's n-best: the other texts its beam search nearly wrote, for matching the offered choices by sound.

whisper-base writes a short Mandarin name wrong (美元 as 美人) while a lower
hypothesis of the same beam is right. :func:`hypotheses` decodes the utterance
again with CTranslate2's ``generate`` (beam 5, ``num_hypotheses`` = 5, no
timestamps, greedy-deterministic: the same audio gives the same texts) in the
same encoder window as :meth:`WhisperEngine.decode`; the kiosk matches each by
sound (:mod:`edge_models.asr.closed_vocab`) when the heard text names no choice.
Measured on the tuning set (see :mod:`edge_models.asr.choice_scores`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edge_models.asr.base import AsrError
from edge_models.asr.whisper_engine import MAX_TOKENS_PER_S

if TYPE_CHECKING:
    from edge_models.asr.whisper_engine import WhisperEngine
    from edge_models.audio import Int16Array

N_BEST = 5


def hypotheses(engine: WhisperEngine, samples: Int16Array, lang: str, n: int = N_BEST) -> list[str]:
    """Whisper's ``n`` best texts for the utterance, best first (Chinese in simplified characters; blanks dropped).

    Raises:
        AsrUnsupportedError: ``lang`` is not one of the model's languages.
        AsrError: the model failed.
    """
    from faster_whisper.tokenizer import Tokenizer

    engine.check(lang, None)
    if len(samples) == 0:
        return []
    whisper = engine._whisper
    try:
        with engine._decoding:
            encoded, _content = engine.encode_window(samples)
            tokenizer = Tokenizer(whisper.hf_tokenizer, True, task="transcribe", language=lang)
            result = whisper.model.generate(
                encoded,
                [[*tokenizer.sot_sequence, tokenizer.no_timestamps]],
                beam_size=n,
                num_hypotheses=n,
                max_length=int(len(samples) / 16_000 * MAX_TOKENS_PER_S) + 8,
                no_repeat_ngram_size=3,
            )
    except Exception as err:
        raise AsrError(f"whisper failed to list its hypotheses: {err}") from err
    texts = [tokenizer.decode(ids).strip() for ids in result[0].sequences_ids]
    if lang == "zh":
        texts = [engine._simplify(t) for t in texts]
    return list(dict.fromkeys(t for t in texts if t))
