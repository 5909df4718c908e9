"""Closed vocabulary for voice turns: when the kiosk offers choices, a spoken answer picks one.

After a reply that asks for a detail (``ask``: a flow's slot, such as the
service, the currency or the customer type) or offers choices (``clarify``),
the next voice turn is matched by sound against the offered buttons: each
button's label in both languages and the policy's plain aliases of its value
(:mod:`edge_models.asr.closed_vocab`). A confident match becomes that button
press (what the customer would have tapped), so 挂诗 picks 挂失; otherwise the
open text goes on as before. Works with any recogniser (whisper's text), in
Mandarin and English. A button picked by voice carries the language heard (the
reply follows what the customer spoke, never the language of the matched label).

When the sound names no choice and the recogniser can score given texts against
the utterance's audio (whisper), the choices are also weighed by the
recogniser's own scores of their names against its free decoding
(:mod:`edge_models.asr.choice_scores`): 欧元 heard as "only in" is still 欧元.
The question the kiosk asked (the last sentence of the reply that offered the
buttons, :attr:`Offer.question`) is whisper's previous text while it scores, as
in a conversation: measured on the tuning set it picks more answers right
(scripts/tune_choice_scores.py).

Last, for Mandarin, the offered names spoken by the kiosk's own voice (espeak-ng, steady) are
matched to the customer's audio on whisper's encoder (:mod:`edge_models.asr.examples`): 英镑 said
alone and written 英文 or 英帆 still sounds most like 英镑. The names' examples are made while the kiosk
asks (:func:`warm_examples`) and kept.

Between the sound and the scores, ``pick`` can match whisper's other hypotheses (its 5-best,
:func:`alternatives_for`) by sound; the runtime does not use it (wrong picks on the
benchmark at 10 dB, see :mod:`edge_models.asr.choice_scores`). When whisper wrote nothing at all after a question, the
choices are still scored before the kiosk apologises (``kiosk/runtime/listening.py``).
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from edge_models.asr.choice_scores import Scorer, pick_by_score
from edge_models.asr.closed_vocab import THRESHOLD, Choice, Match, match
from edge_models.asr.examples import Distances, pick_by_example

if TYPE_CHECKING:
    from edge_models.asr import AsrEngine
    from edge_models.asr.examples import SpokenExamples
    from edge_models.asr.whisper_engine import WhisperEngine
    from edge_models.audio import Int16Array, Pcm
    from edge_models.speech import Transcript
    from kiosk.dialogue import Utterance
    from kiosk.policy import Patterns, Policy, Text

_LOG = logging.getLogger(__name__)
CHOICE_ACTIONS = ("ask", "clarify")  # replies after which the next turn is an answer to the buttons
WARM_NICE = 10  # the background making of spoken examples gives way to the kiosk's speech and avatar
_PLAIN = re.compile(r"^[\w '.-]+$")
_SENTENCE_END = re.compile(r"(?<=[。？！?!])\s*|(?<=\.)\s+")


@dataclass(frozen=True, slots=True)
class Offer:
    """The buttons on screen when the customer speaks, and whether the reply asked to pick one."""

    buttons: tuple[tuple[str, str], ...] = ()
    action: str = ""
    reply: str = ""  # what the kiosk said when it offered them

    @property
    def open(self) -> bool:
        """Whether the last reply asked for a choice (a slot or a clarification) with buttons."""
        return self.action in CHOICE_ACTIONS and bool(self.buttons)

    @property
    def question(self) -> str:
        """What the kiosk asked: the reply's last sentence."""
        return last_sentence(self.reply)


def plain_aliases(patterns: Patterns) -> list[str]:
    """The aliases of a policy pattern list that are plain words (word boundaries allowed), not regular expressions."""
    out = []
    for pattern in (*patterns.zh, *patterns.en):
        word = pattern.replace("\\b", "").replace(" ?", " ")
        if _PLAIN.match(word) and word.strip():
            out.append(word.strip())
    return out


def _texts(text: Text) -> list[str]:
    return [text.zh, text.en]


def value_phrases(policy: Policy, flow: str, value: str) -> list[str]:
    """Both languages' names (zh, en) and the plain aliases of one slot value; empty for an unknown value."""
    if flow == "queue_ticket":
        for service in policy.flows.queue_services:
            if service.id == value:
                return _texts(service.label) + plain_aliases(service.aliases)
    elif flow == "exchange_rate":
        for currency in policy.rates.exchange.currencies:
            if currency.code == value:
                return _texts(currency.name) + plain_aliases(currency.aliases)
    elif flow == "account_open":
        for kind in policy.checklists.customer_types:
            if kind.id == value:
                extra = policy.flows.customer_type_aliases.get(kind.id)
                found = _texts(kind.label) + plain_aliases(kind.aliases)
                return found + (plain_aliases(extra) if extra is not None else [])
    elif flow == "branch_info":
        for topic in policy.branch.topics:
            if topic.id == value:
                return _texts(topic.label) + plain_aliases(topic.aliases)
    return []


def choices(policy: Policy, buttons: Iterable[tuple[str, str]]) -> list[Choice]:
    """The closed vocabulary for these buttons: each label, plus the policy's names and aliases of its value."""
    out = []
    for button_id, label in buttons:
        phrases = [label]
        kind, _, rest = button_id.partition(":")
        if kind == "slot":
            flow, _, value = rest.partition(":")
            phrases += value_phrases(policy, flow, value)
        elif kind == "intent" and rest in policy.messages.intent_names:
            phrases += _texts(policy.messages.intent_names[rest])
        unique = tuple(dict.fromkeys(p.strip() for p in phrases if p and p.strip()))
        out.append(Choice(button_id, unique))
    return out


def written_in(phrase: str, heard: str) -> bool:
    """Whether ``heard`` contains ``phrase`` as written (case and width folded; whole words for Latin script)."""
    p = unicodedata.normalize("NFKC", phrase).lower().strip()
    h = unicodedata.normalize("NFKC", heard).lower()
    if not p:
        return False
    if any("\u3400" <= ch <= "\u9fff" for ch in p):
        return p in h
    return re.search(rf"(?<![\w']){re.escape(p)}(?![\w'])", h) is not None


def _by_sound(heard: str, options: Sequence[Choice], threshold: float) -> tuple[Match | None, bool]:
    """The choice ``heard`` names by sound, and whether the open text must go on (a name inside a longer sentence)."""
    found = match(heard, options, threshold=threshold)
    if found is not None and found.coverage < 1.0 and written_in(found.phrase, heard):
        return None, True
    if found is not None:
        return found, False
    return None, any(written_in(p, heard) for choice in options for p in choice.phrases)


def pick(
    policy: Policy,
    offer: Offer,
    heard: str,
    *,
    threshold: float = THRESHOLD,
    lang: str = "",
    scorer: Scorer | None = None,
    alternatives: Callable[[], Sequence[str]] | None = None,
    examples: Distances | None = None,
) -> Match | None:
    """The offered button ``heard`` names, if the last reply asked for a choice and the match is confident.

    By sound first; then the recogniser's other hypotheses (``alternatives``: whisper's
    n-best, asked only when the heard text names nothing), each by sound, the first that
    names a choice; then, given a ``scorer`` (the recogniser scoring texts against the
    utterance's audio) and the utterance's ``lang`` (zh or en), by the recogniser's scores;
    last, given ``examples`` (each name's distance to the utterance's audio, spoken by the
    kiosk's voice: :mod:`edge_models.asr.examples`), by the closest spoken name (Mandarin).
    A sentence that contains a choice's name as written and says more besides (我的银行卡丢了
    after "which service?") is no pick: the dialogue engine reads the open text whole (a lost
    card) and still fills the slot from the written name when that is all it says.
    """
    if not offer.open:
        return None
    options = choices(policy, offer.buttons)
    if heard.strip():
        found, stop = _by_sound(heard, options, threshold)
        if found is not None or stop:
            return found
    for other in alternatives() if alternatives is not None else ():
        found, stop = _by_sound(other, options, threshold)
        if found is not None:
            return found
    if lang not in ("zh", "en"):
        return None
    found = pick_by_score(heard, options, lang, scorer) if scorer is not None else None
    if found is None and examples is not None:
        found = pick_by_example(heard, options, lang, examples)
    return found


def voice_utterance(
    transcript: Transcript,
    policy: Policy,
    offer: Offer,
    *,
    closed: bool = True,
    scorer: Scorer | None = None,
    alternatives: Callable[[], Sequence[str]] | None = None,
    examples: Distances | None = None,
) -> tuple[Utterance, Match | None]:
    """The dialogue input for a recognised utterance: the picked button, or the open text.

    The heard text is kept on the button press (shown and logged as the customer's words).
    ``scorer`` scores texts against this utterance's audio, ``alternatives`` gives the
    recogniser's other hypotheses for it and ``examples`` the spoken names' distances to it
    (see :func:`pick`).
    """
    from kiosk.dialogue import Utterance

    hint = transcript.lang if transcript.lang in ("zh", "en") else None
    found = (
        pick(
            policy,
            offer,
            transcript.text,
            lang=transcript.lang,
            scorer=scorer,
            alternatives=alternatives,
            examples=examples,
        )
        if closed
        else None
    )
    if found is not None:
        return (
            Utterance(
                text=transcript.text, source="button", lang=hint, asr_confidence=found.confidence, button=found.key
            ),
            found,
        )
    return Utterance(text=transcript.text, source="voice", lang=hint, asr_confidence=transcript.confidence), None


def scorer_for(engine: AsrEngine, pcm: Pcm | None, lang: str, question: str = "") -> Scorer | None:
    """Texts scored by ``engine`` against the utterance ``pcm`` in ``lang``, where it can score (whisper); else None.

    ``question`` (what the kiosk just asked, :attr:`Offer.question`) is the recogniser's
    previous text while scoring, as a conversation's context.
    """
    if pcm is None or lang not in ("zh", "en") or not engine.supports_scoring or lang not in engine.languages:
        return None
    samples = pcm.samples

    def scorer(texts: Sequence[str]) -> list[float]:
        return engine.score_texts(samples, lang, texts, prompt=question)

    return scorer


_EXAMPLES: weakref.WeakKeyDictionary[AsrEngine, SpokenExamples] = weakref.WeakKeyDictionary()
_WARMING: weakref.WeakKeyDictionary[AsrEngine, threading.Thread] = weakref.WeakKeyDictionary()
_EXAMPLES_LOCK = threading.Lock()


def _encoder_of(engine: WhisperEngine) -> Callable[[Int16Array, bool], Any]:
    """``engine``'s encoder frames, holding the engine weakly (its kept examples go when it is unloaded)."""
    from edge_models.asr import AsrError
    from edge_models.asr.examples import encoder_frames

    held = weakref.ref(engine)

    def encode(samples: Int16Array, urgent: bool) -> Any:
        found = held()
        if found is None:
            raise AsrError("the recogniser of these examples was unloaded")
        return encoder_frames(found, samples, urgent=urgent)

    return encode


def _examples_of(engine: WhisperEngine) -> SpokenExamples:
    """The spoken examples kept for ``engine``."""
    from edge_models.asr.examples import SpokenExamples

    with _EXAMPLES_LOCK:
        examples = _EXAMPLES.get(engine)
        if examples is None:
            examples = _EXAMPLES[engine] = SpokenExamples(_encoder_of(engine))
        return examples


def warm_examples(engine: AsrEngine, policy: Policy, offer: Offer, lang: str) -> threading.Thread | None:
    """Make the spoken examples of the names ``offer`` shows in the background (while the kiosk asks).

    So the customer's answer does not wait for them (a name is spoken and encoded once:
    about 0.1-0.3 s a name on two cores). A thread at nice ``WARM_NICE`` for whisper in
    ``EXAMPLE_LANGUAGES`` when some offered name is new and no other is at work for this
    engine (a turn makes what is still missing itself); None otherwise. Its encodes do not
    take speech priority (the LLM keeps its threads).
    """
    from edge_models.asr.choice_scores import names_to_score
    from edge_models.asr.examples import EXAMPLE_LANGUAGES
    from edge_models.asr.whisper_engine import WhisperEngine

    if not offer.open or lang not in EXAMPLE_LANGUAGES or not isinstance(engine, WhisperEngine):
        return None
    if lang not in engine.languages:
        return None
    examples = _examples_of(engine)
    names = [name for _key, name in names_to_score(choices(policy, offer.buttons), lang)]
    if all(examples.has(name, lang) for name in names):
        return None

    def warm() -> None:
        from edge_models.cpu import lower_thread_priority

        lower_thread_priority(WARM_NICE)
        try:
            for name in names:
                examples.examples(name, lang, urgent=False)
        except Exception:  # noqa: BLE001 - the turn makes them itself, or matches without them
            _LOG.warning("making the spoken examples of the offered names failed", exc_info=True)

    with _EXAMPLES_LOCK:
        running = _WARMING.get(engine)
        if running is not None and running.is_alive():
            return None
        # Not a daemon: at exit the interpreter waits for it (a few names) rather than tearing whisper down
        # under a running encode, which aborted a loaded soak run ("terminate called without an active exception").
        thread = _WARMING[engine] = threading.Thread(target=warm, name="spoken-examples", daemon=False)
    thread.start()
    return thread


def examples_for(engine: AsrEngine, pcm: Pcm | None, lang: str) -> Distances | None:
    """Distances of spoken names to the utterance ``pcm`` (:mod:`edge_models.asr.examples`); None where unused.

    Whisper only, in ``EXAMPLE_LANGUAGES``; the names' examples are kept per engine, so a
    name is spoken and encoded once for all the turns that offer it.
    """
    from edge_models.asr.examples import EXAMPLE_LANGUAGES
    from edge_models.asr.whisper_engine import WhisperEngine

    if pcm is None or lang not in EXAMPLE_LANGUAGES or not isinstance(engine, WhisperEngine):
        return None
    if lang not in engine.languages:
        return None
    examples = _examples_of(engine)
    samples = pcm.samples

    def distances(names: Sequence[str], heard: str) -> list[float]:
        return examples.distances(samples, lang, names, heard)

    return distances


def alternatives_for(engine: AsrEngine, pcm: Pcm | None, lang: str) -> Callable[[], list[str]] | None:
    """Whisper's n-best for the utterance ``pcm`` in ``lang`` (:mod:`edge_models.asr.nbest`); None for other engines."""
    from edge_models.asr.whisper_engine import WhisperEngine

    if pcm is None or lang not in ("zh", "en") or not isinstance(engine, WhisperEngine) or lang not in engine.languages:
        return None
    samples = pcm.samples

    def alternatives() -> list[str]:
        from edge_models.asr.nbest import hypotheses

        return hypotheses(engine, samples, lang)

    return alternatives


def last_sentence(reply: str) -> str:
    """The last sentence of a reply (the question a slot or clarifying reply ends with)."""
    sentences = [s.strip() for s in _SENTENCE_END.split(reply.strip()) if s.strip()]
    return sentences[-1] if sentences else ""


def offer_of(buttons: Sequence[tuple[str, str]], action: str, reply: str = "") -> Offer:
    """An :class:`Offer` from a reply's buttons (id, label), action and text."""
    return Offer(tuple((str(i), str(label)) for i, label in buttons), action, reply)
