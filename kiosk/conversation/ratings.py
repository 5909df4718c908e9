"""End-of-conversation ratings (issue 14): one tap, or a spoken 满意 / 不满意 / "good" / "bad"; skipping counts."""

from __future__ import annotations

import re
from typing import Literal, TypeAlias, get_args

Rating: TypeAlias = Literal["good", "bad", "skipped"]
RATINGS: tuple[str, ...] = get_args(Rating)

# Checked in order: "不满意" contains "满意", "not good" contains "good".
_SPOKEN: tuple[tuple[Rating, re.Pattern[str]], ...] = (
    ("skipped", re.compile(r"跳过|不评|不用评|\bskip\b|\bno rating\b")),
    ("bad", re.compile(r"不满意|不太满意|不好|差评|很差|\bbad\b|\bnot (good|great|happy|satisfied)\b|\bpoor\b")),
    ("good", re.compile(r"满意|很好|^好$|好评|不错|\bgood\b|\bgreat\b|\bsatisfied\b|\bhappy\b|\bexcellent\b")),
)


# Words around a rating that add nothing ("我觉得很满意", "it was very good"); what is left must be the rating.
_FILLER = re.compile(
    r"[\s\W_]+|我|觉得|感觉|非常|特别|真的|真|很|挺|还|比较|是|的|了|啊|呀|吧|嗯|哦|谢谢"
    r"|\b(i|i'm|im|am|it|it's|its|was|is|that|this|very|really|quite|so|pretty|rather|yes|ok|okay|thanks|thank you)\b"
)


class RatingError(ValueError):
    """A rating that is not one of the choices, or words that are not a rating."""


def parse_rating(text: str, *, whole: bool = False) -> Rating | None:
    """The rating a customer said or typed, or None when the words are not a rating.

    ``whole``: the words must be nothing but a rating (fillers aside), as when the screen asks
    for one and a new customer may speak instead: "不好意思，我想取号" holds 不好 and "good
    afternoon, I need a card" holds "good", and both are new questions.
    """
    lowered = text.strip().lower()
    if len(lowered) > 40:  # a rating is a word or two; a long sentence is a new question
        return None
    rest = " ".join(_FILLER.sub(" ", lowered).split()) if whole else lowered
    for rating, pattern in _SPOKEN:
        if (pattern.fullmatch(rest) if whole else pattern.search(rest)) is not None:
            return rating
    return None


def rating_of(choice: str | None, text: str | None) -> Rating:
    """The rating from a tapped ``choice`` or from words (``text``).

    Raises:
        RatingError: neither is a rating.
    """
    if choice is not None:
        for known in get_args(Rating):
            if choice == known:
                return known  # type: ignore[no-any-return]
        raise RatingError(f"rating must be one of {', '.join(RATINGS)}, not {choice[:20]!r}")
    if text is not None:
        said = parse_rating(text)
        if said is not None:
            return said
        raise RatingError("these words are not a rating (满意 / 不满意 / good / bad / skip)")
    raise RatingError("give a rating or the words of one")
