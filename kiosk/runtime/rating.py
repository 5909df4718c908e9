"""The end-of-conversation rating on the kiosk screen (issue 14): one tap, or 满意 / 不满意 / good / bad said.

After a conversation ends the screen offers three buttons; the next input
may be a rating (a ``rate:*`` button, or words that are one). Anything else
is a new customer's question: the offer lapses and the turn goes on as usual.
Skipping is an answer. Pure: the runtime stores the rating.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.conversation import RATINGS, Rating, parse_rating

BUTTON_PREFIX = "rate:"
BUTTONS: dict[str, tuple[tuple[str, str], ...]] = {
    "zh": (("rate:good", "满意"), ("rate:bad", "不满意"), ("rate:skipped", "跳过")),
    "en": (("rate:good", "Good"), ("rate:bad", "Bad"), ("rate:skipped", "Skip")),
}
# Said instead of tapped: added to the recogniser's grammar and hints while the offer is open.
WORDS = {"zh": ("满意", "不满意", "跳过"), "en": ("good", "bad", "skip")}
# Matched by sound when the words as recognised are not a rating: whisper-base writes 补my衣 for 不满意,
# 我很买衣 for 我很满意, "God!" for "good" (tests/integration/test_rating_voice.py).
SPOKEN: dict[Rating, tuple[str, ...]] = {
    "good": ("满意", "很满意", "非常满意", "我很满意", "挺满意", "good", "very good", "great", "satisfied"),
    "bad": ("不满意", "很不满意", "我不满意", "不太满意", "bad", "not good", "very bad", "poor"),
    "skipped": ("跳过", "不用评价", "skip", "no rating"),
}
ASK = {"zh": "您对本次服务满意吗？", "en": "How did we do today?"}
THANKS = {"zh": "谢谢您的评价！", "en": "Thank you for your feedback!"}
# How long the screen keeps asking before the idle screen comes back (no rating: unrated, not skipped).
WAIT_S = 20.0


@dataclass(slots=True)
class RatingOffer:
    """The rating the screen is asking for, if any."""

    session: str | None = None
    lang: str = "zh"
    opened_at: float = 0.0

    def open(self, session: str, lang: str, now: float = 0.0) -> tuple[tuple[str, str], ...]:
        """Ask ``session`` for a rating at monotonic time ``now``; returns the buttons to show."""
        self.session, self.lang, self.opened_at = session, lang if lang in BUTTONS else "zh", now
        return BUTTONS[self.lang]

    def waiting(self, now: float, wait_s: float = WAIT_S) -> bool:
        """True while the offer is open and younger than ``wait_s``; an older one lapses."""
        if self.session is not None and now - self.opened_at > wait_s:
            self.session = None
        return self.session is not None

    def close(self) -> None:
        """The offer lapses (a new question, the customer left)."""
        self.session = None

    def buttons(self) -> tuple[tuple[str, str], ...]:
        """The buttons on screen while the offer is open (a spoken answer is matched against them)."""
        return BUTTONS[self.lang]

    @property
    def question(self) -> str:
        """What the screen asks (whisper's context when it scores the buttons against a spoken answer)."""
        return ASK[self.lang]

    def take(
        self, *, button: str | None = None, text: str | None = None, spoken: bool = False
    ) -> tuple[str, Rating, str] | None:
        """(session, rating, how) when this input answers the open offer, else None (the offer lapses on text).

        ``how`` is ``tap``, ``text`` or ``voice``. Recognised speech (``spoken``) is also matched by sound
        (:func:`heard_rating`); typed text only as written. A ``rate:*`` button that comes from speech
        (the runtime picked it by the recogniser's scores) counts as ``voice``. A ``rate:*`` button with
        no open offer is ignored (returns None, the offer stays closed).
        """
        session = self.session
        if session is None:
            return None
        if button is not None:
            choice = button.removeprefix(BUTTON_PREFIX) if button.startswith(BUTTON_PREFIX) else None
            for known in RATINGS:
                if choice == known:
                    self.session = None
                    # a button picked from a spoken answer (the recogniser's scores) was said, not tapped
                    return session, known, "voice" if spoken else "tap"  # type: ignore[return-value]
            self.session = None
            return None
        said = heard_rating(text or "") if spoken else parse_rating(text or "", whole=True)
        self.session = None
        return None if said is None else (session, said, "voice" if spoken else "text")


def heard_rating(text: str) -> Rating | None:
    """The rating in recognised words: as written (:func:`parse_rating`), else the closest rating phrase by sound.

    ``text`` should be normalised (simplified characters); the sound match needs no such help (不滿意 sounds
    like 不满意). A long question that merely sounds like a rating somewhere is no match (closed_vocab's coverage).
    """
    said = parse_rating(text, whole=True)
    if said is not None or not text.strip() or len(text) > 40:
        return said
    from edge_models.asr.closed_vocab import Choice, match

    found = match(text, [Choice(rating, phrases) for rating, phrases in SPOKEN.items()])
    if found is None:
        return None
    for known in RATINGS:
        if found.key == known:
            return known  # type: ignore[return-value]
    return None
