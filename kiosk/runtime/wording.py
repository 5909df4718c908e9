"""What the runtime itself says and prints: out-of-hours texts, printer trouble, the ticket slip.

Pure: callers pass the policy's hours and the local time.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Literal

from kiosk.runtime.timing import hours_summary, next_opening, opening_words

if TYPE_CHECKING:
    from hardware import TicketSlip
    from kiosk.policy import Policy

Lang = Literal["zh", "en"]
Days = tuple[str | None, ...]


def closed_greeting(days: Days, now: datetime, lang: Lang) -> str:
    """The greeting out of hours: closed, when it opens next, what the kiosk can still do."""
    opens = opening_words(next_opening(days, now), now, lang)
    if lang == "zh":
        return f"您好！本网点现在不营业，下次营业时间：{opens}。我仍可以为您解答问题，但暂时不能取号。"
    return (
        f"Hello! The branch is closed now and opens again {opens}. I can still answer questions, but not issue tickets."
    )


def closed_screen(days: Days, now: datetime, lang: Lang) -> str:
    """The out-of-hours screen: closed, when it opens next, the weekly hours."""
    opens = opening_words(next_opening(days, now), now, lang)
    if lang == "zh":
        return f"本网点现在不营业。下次营业时间：{opens}。营业时间：{hours_summary(days, lang)}。"
    return f"The branch is closed. We open again {opens}. Opening hours: {hours_summary(days, lang)}."


PrintProblem = Literal["out_of_paper", "failed"]


def print_problem(problem: PrintProblem, number: str, lang: Lang) -> str:
    """Said after the reply when no slip came out: the customer keeps their number from the screen."""
    if problem == "out_of_paper":
        if lang == "zh":
            return f"取号机暂时缺纸，无法打印号票。请记住您的号码 {number}，它也显示在屏幕上。"
        return f"The ticket printer is out of paper, so there is no slip: your number is {number}, shown on screen."
    if lang == "zh":
        return f"抱歉，取号机暂时无法出票。请记住您的号码 {number}，或到大堂柜台咨询。"
    return f"Sorry, the ticket printer isn't working. Please note your number {number} or ask at the lobby desk."


def ticket_slip(number: str, policy: Policy, now: datetime, waiting: int | None = None) -> TicketSlip:
    """The slip for ticket ``number``: its service (found by the number's letter), branch and time."""
    from hardware import TicketSlip

    prefix = number[:1]
    service = next((s for s in policy.flows.queue_services if s.prefix == prefix), None)
    zh, en = ("排队取号", "Queue ticket") if service is None else (service.label.get("zh"), service.label.get("en"))
    return TicketSlip(
        number=number,
        service=zh,
        service_en=en,
        branch=policy.branch.name.get("zh"),
        branch_en=policy.branch.name.get("en"),
        issued_at=now.strftime("%Y-%m-%d %H:%M"),
        waiting=waiting,
    )
