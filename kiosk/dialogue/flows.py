"""Service flows that fill one detail (slot) over one or more turns.

Each flow extracts its slot from customer text, asks for it with buttons
when it is missing, and completes with an answer built from policy data
only: rates and checklists are quoted, never generated.

Flows are registered by name (their intent) in :data:`FLOWS`; the engine
builds the ones the policy enables (``flows.yaml`` ``enabled``, every
registered flow when left out) through :func:`build_flows`, and the policy
bundle's check refuses a policy naming a flow that is not registered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, TypeAlias

from kiosk.dialogue.decision import Action, Button, Emotion
from kiosk.dialogue.patterns import PatternSet, best_match
from kiosk.dialogue.ports import TicketDispenser
from kiosk.dialogue.replies import Replies, format_time, join_items
from kiosk.policy import Policy, PolicyError, RateTable

ID_CARD_SCAN = "idcard:scan"  # the runtime reads the ID card held to the camera when this is tapped


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of a flow step."""

    reply: str
    action: Action
    buttons: tuple[Button, ...] = ()
    ticket: str | None = None
    done: bool = True
    emotion: Emotion = "neutral"


class Flow(Protocol):
    """A flow for one intent."""

    intent: str

    def extract(self, text: str) -> str | None:
        """The slot value named in normalised ``text``, or None."""
        ...

    def ask(self, lang: str) -> Outcome:
        """Ask for the slot, offering its values as buttons."""
        ...

    def complete(self, value: str, lang: str, now: datetime) -> Outcome:
        """Finish the flow with slot ``value``."""
        ...


def slot_button(flow: str, value: str, label: str) -> Button:
    """Button that answers a flow's question with ``value``."""
    return Button(id=f"slot:{flow}:{value}", label=label)


def is_stale(table: RateTable, now: datetime) -> bool:
    """True when a rate table is older than its allowed age (or from the future)."""
    age = now - table.as_of
    return age > timedelta(hours=table.max_age_hours) or age < -timedelta(hours=1)


class QueueTicketFlow:
    """Queue ticket: service type -> ticket number."""

    intent = "queue_ticket"

    def __init__(self, policy: Policy, replies: Replies, dispenser: TicketDispenser) -> None:
        self._services = {s.id: s for s in policy.flows.queue_services}
        self._aliases = {s.id: PatternSet(s.aliases) for s in policy.flows.queue_services}
        self._replies = replies
        self._dispenser = dispenser

    def extract(self, text: str) -> str | None:
        """The counter service named in ``text``."""
        return best_match(text, self._aliases)

    def ask(self, lang: str) -> Outcome:
        """Ask which service."""
        buttons = tuple(slot_button(self.intent, s.id, s.label.get(lang)) for s in self._services.values())
        return Outcome(self._replies.text("ask_queue_service", lang), "ask", buttons, done=False)

    def complete(self, value: str, lang: str, now: datetime) -> Outcome:
        """Issue the ticket."""
        service = self._services.get(value)
        if service is None:
            return self.ask(lang)
        number = self._dispenser.issue_ticket(service.id, service.prefix)
        reply = self._replies.text("ticket_issued", lang, number=number, service=service.label.get(lang))
        return Outcome(reply, "ticket", ticket=number, emotion="happy")


class ExchangeRateFlow:
    """Exchange rate: currency -> the rate quoted from policy data with its as-of time."""

    intent = "exchange_rate"

    def __init__(self, policy: Policy, replies: Replies) -> None:
        self._table = policy.rates.exchange
        self._currencies = {c.code: c for c in self._table.currencies}
        self._aliases = {c.code: PatternSet(c.aliases) for c in self._table.currencies}
        self._replies = replies

    def extract(self, text: str) -> str | None:
        """The currency named in ``text``."""
        return best_match(text, self._aliases)

    def ask(self, lang: str) -> Outcome:
        """Ask which currency."""
        buttons = tuple(
            slot_button(self.intent, c.code, f"{c.name.get(lang)} {c.code}")
            for c in list(self._currencies.values())[:6]
        )
        return Outcome(self._replies.text("ask_currency", lang), "ask", buttons, done=False)

    def complete(self, value: str, lang: str, now: datetime) -> Outcome:
        """Quote the rate, unless the table is too old to be current."""
        currency = self._currencies.get(value)
        if currency is None:
            names = "、".join(c.name.get(lang) for c in self._currencies.values())
            reply = self._replies.text("rate_unknown_currency", lang, names=names)
            return Outcome(reply, "answer", emotion="apologetic")
        as_of = format_time(self._table.as_of, lang)
        if is_stale(self._table, now):
            reply = self._replies.text("rate_stale", lang, name=currency.name.get(lang), as_of=as_of)
            return Outcome(reply, "answer", emotion="apologetic")
        reply = self._replies.text(
            "rate_quote",
            lang,
            name=currency.name.get(lang),
            buy=f"{currency.buy:g}",
            sell=f"{currency.sell:g}",
            unit=currency.unit,
            as_of=as_of,
        )
        return Outcome(reply, "answer")


class AccountOpenFlow:
    """Account opening: customer type -> checklist."""

    intent = "account_open"

    def __init__(self, policy: Policy, replies: Replies) -> None:
        self._types = {t.id: t for t in policy.checklists.customer_types}
        self._aliases = {
            type_id: PatternSet(patterns)
            for type_id, patterns in policy.flows.customer_type_aliases.items()
            if type_id in self._types
        }
        self._replies = replies

    def extract(self, text: str) -> str | None:
        """The customer type described in ``text``."""
        return best_match(text, self._aliases)

    def ask(self, lang: str) -> Outcome:
        """Ask whom the account is for."""
        buttons = tuple(slot_button(self.intent, t.id, t.label.get(lang)) for t in self._types.values())
        reply = f"{self._replies.answer(self.intent, lang)} {self._replies.text('ask_customer_type', lang)}"
        return Outcome(reply, "ask", buttons, done=False)

    def complete(self, value: str, lang: str, now: datetime) -> Outcome:
        """The checklist for that customer type."""
        kind = self._types.get(value)
        if kind is None:
            return self.ask(lang)
        items = join_items(kind.checklist[lang if lang == "zh" else "en"], lang)
        reply = self._replies.text("checklist", lang, label=kind.label.get(lang), items=items)
        if value == "resident":  # a PRC resident ID card can be read at the kiosk (kiosk/runtime/idcard.py)
            scan = Button(
                id=ID_CARD_SCAN, label="扫描身份证，预填开户表" if lang == "zh" else "Scan my ID card to fill the form"
            )
            return Outcome(reply, "answer", (scan,))
        return Outcome(reply, "answer")


class BranchInfoFlow:
    """Branch information: topic -> the branch's answer for it."""

    intent = "branch_info"

    def __init__(self, policy: Policy, replies: Replies) -> None:
        self._topics = {t.id: t for t in policy.branch.topics}
        self._aliases = {t.id: PatternSet(t.aliases) for t in policy.branch.topics}
        self._replies = replies

    def extract(self, text: str) -> str | None:
        """The topic asked about in ``text``."""
        return best_match(text, self._aliases)

    def ask(self, lang: str) -> Outcome:
        """Give the general answer, then ask which topic."""
        buttons = tuple(slot_button(self.intent, t.id, t.label.get(lang)) for t in self._topics.values())
        reply = f"{self._replies.answer(self.intent, lang)} {self._replies.text('branch_more', lang)}"
        return Outcome(reply, "ask", buttons, done=False)

    def complete(self, value: str, lang: str, now: datetime) -> Outcome:
        """Answer the topic."""
        topic = self._topics.get(value)
        if topic is None:
            return self.ask(lang)
        return Outcome(topic.answer.get(lang), "answer")


class DepositRates:
    """Deposit rates: one term, or the whole table, quoted from policy data."""

    def __init__(self, policy: Policy, replies: Replies) -> None:
        self._table = policy.rates.deposits
        self._aliases = {t.id: PatternSet(t.aliases) for t in self._table.terms}
        self._replies = replies

    def quote(self, text: str, lang: str, now: datetime) -> Outcome:
        """Quote the term named in ``text``, or every term."""
        as_of = format_time(self._table.as_of, lang)
        if is_stale(self._table, now):
            return Outcome(self._replies.text("deposit_stale", lang, as_of=as_of), "answer", emotion="apologetic")
        term = best_match(text, self._aliases)
        terms = [t for t in self._table.terms if term is None or t.id == term]
        sep = "：" if lang == "zh" else ": "
        lines = join_items([f"{t.name.get(lang)}{sep}{t.rate_percent:.2f}%" for t in terms], lang)
        return Outcome(self._replies.text("deposit_quote", lang, lines=lines, as_of=as_of), "answer")


@dataclass(frozen=True)
class FlowContext:
    """What a flow is built from: the policy, its replies and the ticket dispenser."""

    policy: Policy
    replies: Replies
    tickets: TicketDispenser


FlowFactory: TypeAlias = Callable[[FlowContext], Flow]

# The flow registry: every flow the engine can run, by name (the intent it serves).
FLOWS: Mapping[str, FlowFactory] = {
    "queue_ticket": lambda c: QueueTicketFlow(c.policy, c.replies, c.tickets),
    "exchange_rate": lambda c: ExchangeRateFlow(c.policy, c.replies),
    "account_open": lambda c: AccountOpenFlow(c.policy, c.replies),
    "branch_info": lambda c: BranchInfoFlow(c.policy, c.replies),
}


class UnknownFlowError(PolicyError):
    """The policy enables a flow that is not registered; the message lists the known ones."""


def enabled_flows(policy: Policy, registry: Mapping[str, FlowFactory] = FLOWS) -> tuple[str, ...]:
    """The names of the flows ``policy`` enables (every registered one when it names none).

    Raises:
        UnknownFlowError: If the policy names a flow that is not in ``registry``.
    """
    names: Iterable[str] = registry if policy.flows.enabled is None else policy.flows.enabled
    unknown = sorted(set(names) - set(registry))
    if unknown:
        raise UnknownFlowError(
            f"flows.yaml: field enabled: unknown flow(s) {', '.join(unknown)} (known: {', '.join(sorted(registry))})"
        )
    return tuple(names)


def build_flows(context: FlowContext, registry: Mapping[str, FlowFactory] = FLOWS) -> dict[str, Flow]:
    """The flows the policy enables, built from the registry, by the intent each serves.

    Raises:
        UnknownFlowError: If the policy names a flow that is not in ``registry``.
    """
    flows = [registry[name](context) for name in enabled_flows(context.policy, registry)]
    return {flow.intent: flow for flow in flows}
