"""Conversations.

The one door into the engine (``door``: :class:`Conversations`) and the customer's rating of a conversation
(``ratings``).
"""

from kiosk.conversation.door import MAX_BUTTON_CHARS, MAX_INPUT_CHARS, Conversations, at_the_door
from kiosk.conversation.ratings import RATINGS, Rating, RatingError, parse_rating, rating_of

__all__ = [
    "MAX_BUTTON_CHARS",
    "MAX_INPUT_CHARS",
    "RATINGS",
    "Conversations",
    "Rating",
    "RatingError",
    "at_the_door",
    "parse_rating",
    "rating_of",
]
