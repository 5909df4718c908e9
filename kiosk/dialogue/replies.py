"""Wording of replies and buttons, taken from the policy's messages."""

from __future__ import annotations

from datetime import datetime

from kiosk.dialogue.decision import Button
from kiosk.policy import Policy

STAFF_BUTTON_ID = "staff"


class Replies:
    """Builds reply text and buttons in the customer's language."""

    def __init__(self, policy: Policy) -> None:
        self._messages = policy.messages
        self._answers = policy.knowledge.answers
        self._top = policy.flows.top_services

    def text(self, key: str, lang: str, **fields: object) -> str:
        """Message ``key`` in ``lang`` with ``fields`` filled in."""
        return self._messages.texts[key].get(lang).format(**fields)

    def answer(self, intent: str, lang: str) -> str:
        """The knowledge base answer for ``intent``."""
        return self._answers[intent].get(lang)

    def intent_name(self, intent: str, lang: str) -> str:
        """Display name of an intent."""
        return self._messages.intent_names[intent].get(lang)

    def intent_button(self, intent: str, lang: str) -> Button:
        """A button that chooses ``intent``."""
        return Button(id=f"intent:{intent}", label=self.intent_name(intent, lang))

    def staff_button(self, lang: str) -> Button:
        """The always-available 'talk to staff' button."""
        return Button(id=STAFF_BUTTON_ID, label=self.text("staff_button", lang))

    def top_buttons(self, lang: str, *, staff: bool = True) -> tuple[Button, ...]:
        """The home screen services, and the staff button."""
        buttons = [self.intent_button(intent, lang) for intent in self._top]
        if staff:
            buttons.append(self.staff_button(lang))
        return tuple(buttons)


def format_time(value: datetime, lang: str) -> str:
    """An as-of time as customers read it."""
    if lang == "zh":
        return f"{value.year}年{value.month}月{value.day}日 {value:%H:%M}"
    return value.strftime("%d %b %Y %H:%M")


def join_items(items: tuple[str, ...] | list[str], lang: str) -> str:
    """A list in running text."""
    return ("；" if lang == "zh" else "; ").join(items)
