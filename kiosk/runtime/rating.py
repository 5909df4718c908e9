"""The end-of-conversation rating on the kiosk screen (issue 14): one tap, or 满意 / 不满意 / good / bad said.

After a conversation ends the screen offers three buttons; the next input
may be a rating (a ``rate:*`` button, or words that are one). Anything else
is a new customer's question: the offer lapses and the turn goes on as usual.
Skipping is an answer. Pure: the runtime stores the rating.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.ratings import RATINGS, Rating, parse_rating

BUTTON_PREFIX = "rate:"
BUTTONS: dict[str, tuple[tuple[str, str], ...]] = {
    "zh": (("rate:good", "满意"), ("rate:bad", "不满意"), ("rate:skipped", "跳过")),
    "en": (("rate:good", "Good"), ("rate:bad", "Bad"), ("rate:skipped", "Skip")),
}
# Said instead of tapped: added to the recogniser's grammar and hints while the offer is open.
WORDS = {"zh": ("满意", "不满意", "跳过"), "en": ("good", "bad", "skip")}
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

    def take(self, *, button: str | None = None, text: str | None = None) -> tuple[str, Rating, str] | None:
        """(session, rating, how) when this input answers the open offer, else None (the offer lapses on text).

        A ``rate:*`` button with no open offer is ignored (returns None, the offer stays closed).
        """
        session = self.session
        if session is None:
            return None
        if button is not None:
            choice = button.removeprefix(BUTTON_PREFIX) if button.startswith(BUTTON_PREFIX) else None
            for known in RATINGS:
                if choice == known:
                    self.session = None
                    return session, known, "tap"  # type: ignore[return-value]
            self.session = None
            return None
        said = parse_rating(text or "")
        self.session = None
        return None if said is None else (session, said, "voice_or_text")
