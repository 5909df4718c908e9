"""Schema of the policy bundle's files (pydantic models, one per file)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kiosk.intents import INTENTS, is_label

POLICY_SCHEMA_VERSION = 1


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Text(_Model):
    """The same text in both languages."""

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, lang: str) -> str:
        """The text in ``lang`` (English for anything but ``zh``)."""
        return self.zh if lang == "zh" else self.en


class Patterns(_Model):
    """Regular expressions per language, matched on normalised text."""

    zh: tuple[str, ...] = ()
    en: tuple[str, ...] = ()

    @field_validator("zh", "en")
    @classmethod
    def _compiles(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for index, pattern in enumerate(patterns):
            try:
                re.compile(pattern)
            except re.error as err:
                raise ValueError(f"pattern [{index}] {pattern!r} is not a valid regular expression: {err}") from err
        return patterns


class _Versioned(_Model):
    schema_version: int = Field(description="Format version of this file.")

    @field_validator("schema_version")
    @classmethod
    def _known(cls, version: int) -> int:
        if version > POLICY_SCHEMA_VERSION:
            raise ValueError(f"schema_version {version} is newer than this kiosk reads ({POLICY_SCHEMA_VERSION})")
        return version


def _check_intents(keys: object, *, complete: bool) -> None:
    """Labels are well formed; with ``complete``, the built-in core is all there.

    Labels beyond the core are allowed (a new service); the loader checks that
    every file names only the intents the policy answers.
    """
    names = set(keys)  # type: ignore[call-overload]
    malformed = sorted(name for name in names if not isinstance(name, str) or not is_label(name))
    if malformed:
        raise ValueError(f"malformed intent label(s): {', '.join(map(str, malformed))}")
    if complete:
        missing = [name for name in INTENTS if name not in names]
        if missing:
            raise ValueError(f"missing intent label(s): {', '.join(missing)}")


class FaqEntry(_Model):
    """A detail passage of the knowledge base."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    intent: str
    question: Text
    answer: Text

    @field_validator("intent")
    @classmethod
    def _label(cls, intent: str) -> str:
        _check_intents([intent], complete=False)
        return intent


class Knowledge(_Versioned):
    """``knowledge.yaml``: an answer for every intent, and FAQ passages."""

    answers: dict[str, Text]
    faq: tuple[FaqEntry, ...] = ()

    @field_validator("answers")
    @classmethod
    def _all_intents(cls, answers: dict[str, Text]) -> dict[str, Text]:
        _check_intents(answers, complete=True)
        return answers


class Rules(_Versioned):
    """``rules.yaml``: keyword patterns per intent, used when the model is unsure."""

    intents: dict[str, Patterns]

    @field_validator("intents")
    @classmethod
    def _labels(cls, intents: dict[str, Patterns]) -> dict[str, Patterns]:
        _check_intents(intents, complete=False)
        return intents


class Safety(_Versioned):
    """``safety.yaml``: patterns checked before any model, always."""

    fraud: Patterns = Field(description="Scam patterns: safe accounts, fake police, verification codes.")
    human: Patterns = Field(description="Explicit requests for a person.")
    emergency: Patterns = Field(description="Medical or security emergencies in the branch.")
    injection: Patterns = Field(description="Attempts to instruct the assistant; declined, never obeyed.")


class Currency(_Model):
    """A foreign currency and its rates against CNY, per 100 units."""

    code: str = Field(pattern=r"^[A-Z]{3}$")
    name: Text
    aliases: Patterns = Field(description="Patterns that mean this currency in customer text.")
    unit: int = Field(default=100, gt=0)
    buy: float = Field(gt=0, description="Bank buys foreign exchange (spot), CNY per unit.")
    sell: float = Field(gt=0, description="Bank sells foreign exchange, CNY per unit.")
    cash_buy: float | None = Field(default=None, gt=0)


class DepositRate(_Model):
    """An interest rate for a deposit term."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name: Text
    aliases: Patterns
    rate_percent: float = Field(ge=0, lt=100)


class RateTable(_Model):
    """A table of quoted figures with the time they were set."""

    as_of: datetime
    max_age_hours: float = Field(gt=0, description="Older than this, the figures are not quoted as current.")

    @field_validator("as_of")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("as_of needs a time zone, e.g. 2026-11-26T09:00:00+08:00")
        return value


class ExchangeTable(RateTable):
    """Exchange rates."""

    currencies: tuple[Currency, ...] = Field(min_length=1)


class DepositTable(RateTable):
    """Deposit interest rates."""

    terms: tuple[DepositRate, ...] = Field(min_length=1)


class Rates(_Versioned):
    """``rates.yaml``: exchange and deposit rates with their as-of time."""

    exchange: ExchangeTable
    deposits: DepositTable


class BranchTopic(_Model):
    """One topic of branch information (hours, address, ATM …)."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    label: Text
    aliases: Patterns
    answer: Text


class OpeningHours(_Model):
    """Opening hours per weekday (0 = Monday), as 'HH:MM-HH:MM' or null when closed."""

    days: tuple[str | None, ...] = Field(min_length=7, max_length=7)

    @field_validator("days")
    @classmethod
    def _format(cls, days: tuple[str | None, ...]) -> tuple[str | None, ...]:
        for index, span in enumerate(days):
            if span is not None and not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d", span):
                raise ValueError(f"day {index}: {span!r} is not 'HH:MM-HH:MM'")
        return days


class Branch(_Versioned):
    """``branch.yaml``: this branch's details."""

    name: Text
    hours: OpeningHours
    topics: tuple[BranchTopic, ...] = Field(min_length=1)
    staff_lang: Literal["zh", "en"] = Field(
        default="zh", description="The language of the staff: hand-off summaries are written in it."
    )


class QueueService(_Model):
    """A counter service a queue ticket can be taken for."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    prefix: str = Field(pattern=r"^[A-Z]$")
    label: Text
    aliases: Patterns


class CustomerType(_Model):
    """A kind of customer opening an account, with what to bring."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    label: Text
    checklist: dict[str, tuple[str, ...]]
    aliases: Patterns = Patterns()

    @field_validator("checklist")
    @classmethod
    def _langs(cls, checklist: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for lang in ("zh", "en"):
            if not checklist.get(lang):
                raise ValueError(f"checklist needs a non-empty '{lang}' list")
        return checklist


class Checklists(_Versioned):
    """``checklists.yaml``: account-opening checklists by customer type."""

    customer_types: tuple[CustomerType, ...] = Field(min_length=1)


class Flows(_Versioned):
    """``flows.yaml``: data of the service flows."""

    queue_services: tuple[QueueService, ...] = Field(min_length=1)
    top_services: tuple[str, ...] = Field(min_length=1, description="Intents offered as buttons on the home screen.")
    customer_type_aliases: dict[str, Patterns] = Field(default_factory=dict)
    enabled: tuple[str, ...] | None = Field(
        default=None,
        description="The service flows this kiosk runs, by their names in the flow registry "
        "(kiosk.dialogue.flows.FLOWS); left out: every registered flow. An unknown name is refused.",
    )

    @field_validator("top_services")
    @classmethod
    def _labels(cls, services: tuple[str, ...]) -> tuple[str, ...]:
        _check_intents(services, complete=False)
        return services


def has_han(text: str) -> bool:
    """True when ``text`` holds a Han (Chinese) character."""
    return any("\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" for ch in text)


class LlmByScript(BaseModel):
    """The LLM threshold per script of the customer's text (calibrated separately: scripts/calibrate_llm.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    han: float = Field(default=1.0, ge=0, le=1, description="For text with Han characters.")
    other: float = Field(default=1.0, ge=0, le=1, description="For other text.")


class Thresholds(_Versioned):
    """``thresholds.yaml``: when each stage may decide."""

    model: float | None = Field(
        default=None, ge=0, le=1, description="Model confidence needed to decide; null: the NLU bundle's own."
    )
    llm: float | LlmByScript = Field(
        default=1.0,
        description="LLM label probability needed to decide; 1.0 turns the stage off. "
        "A number, or one per script: {han: 0.x, other: 1.0} (Han text / other text).",
    )

    def llm_for(self, text: str) -> float:
        """The LLM threshold for ``text``: by its script when the policy gives one per script."""
        if isinstance(self.llm, LlmByScript):
            return self.llm.han if has_han(text) else self.llm.other
        return self.llm

    llm_candidates: int = Field(default=4, ge=1, le=10, description="Top model labels the LLM may choose among.")
    rules_agree_top: int = Field(
        default=3, ge=0, le=25, description="With a model loaded, a rule decides only for its top-N labels (0: any)."
    )
    rules_confidence: float = Field(default=0.8, ge=0, le=1, description="Confidence reported for a rule match.")
    clarify_options: int = Field(default=3, ge=1, le=5, description="How many services a clarification offers.")
    max_misses: int = Field(default=2, ge=1, description="Misunderstood turns before handing off to staff.")
    asr_min_confidence: float = Field(default=0.5, ge=0, le=1, description="Below it, voice input is asked again.")

    staff_bounds: dict[str, tuple[float, float]] = Field(
        default_factory=lambda: {
            "model_threshold": (0.5, 0.95),
            "rules_confidence": (0.5, 0.95),
            "max_misses": (1, 4),
            "clarify_options": (2, 5),
        },
        description="Ranges within which branch staff may change a threshold on the admin page.",
    )
    faq_answer: float = Field(
        default=0.9, ge=0, le=1, description="Retrieval score at which a FAQ passage answers an otherwise unsure turn."
    )
    faq_detail: float = Field(
        default=0.6,
        ge=0,
        le=1,
        description="Retrieval score at which a FAQ passage of the decided intent is preferred.",
    )
    llm_compose: float = Field(
        default=1.0,
        ge=0,
        le=1,
        description="LLM confidence (mean token probability) needed to answer in its own words from a FAQ "
        "passage; 1.0 turns composing off (the passage is shown as written).",
    )
    llm_compose_support: float = Field(
        default=0.8,
        ge=0,
        le=1,
        description="Share of a composed answer's content words that must occur in the passage.",
    )
    llm_compose_budget_s: float = Field(
        default=2.5, gt=0, le=30, description="Time budget of composing one answer (the customer waits for it)."
    )
    llm_compose_tokens: int = Field(default=60, ge=8, le=256, description="Longest composed answer, in tokens.")
    llm_summary_budget_s: float = Field(
        default=20.0, gt=0, le=120, description="Time budget of a hand-off summary (written off the customer's path)."
    )
    llm_summary_tokens: int = Field(default=90, ge=16, le=400, description="Longest hand-off summary, in tokens.")
    max_handoffs_per_session: int = Field(
        default=2, ge=0, le=100, description="Hand-offs one session may raise; beyond it the turn answers only."
    )
    max_risk_alerts_per_session: int = Field(
        default=2, ge=0, le=100, description="Risk alerts one session may raise; beyond it the warning only."
    )
    max_tickets_per_session: int = Field(
        default=2, ge=0, le=100, description="Queue tickets one session may take; beyond it no new number is issued."
    )

    @field_validator("staff_bounds")
    @classmethod
    def _bounds(cls, bounds: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        return _check_bounds(bounds)


def _check_bounds(bounds: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    known = {"model_threshold", "rules_confidence", "max_misses", "clarify_options"}
    for name, (low, high) in bounds.items():
        if name not in known:
            raise ValueError(f"staff_bounds: unknown setting {name!r}")
        if low > high:
            raise ValueError(f"staff_bounds.{name}: low {low} is above high {high}")
    return bounds


class Messages(_Versioned):
    """``messages.yaml``: the engine's own wording and the intents' display names."""

    intent_names: dict[str, Text]
    texts: dict[str, Text]

    @field_validator("intent_names")
    @classmethod
    def _all(cls, names: dict[str, Text]) -> dict[str, Text]:
        _check_intents(names, complete=True)
        return names

    @model_validator(mode="after")
    def _required_texts(self) -> Messages:
        missing = sorted(REQUIRED_MESSAGES - set(self.texts))
        if missing:
            raise ValueError(f"texts is missing: {', '.join(missing)}")
        return self


REQUIRED_MESSAGES = frozenset(
    {
        "clarify",
        "clarify_again",
        "handoff",
        "handoff_misses",
        "not_understood",
        "empty",
        "risk_alert",
        "emergency",
        "injection",
        "staff_button",
        "ask_repeat",
        "ask_currency",
        "rate_quote",
        "rate_stale",
        "rate_unknown_currency",
        "deposit_quote",
        "deposit_stale",
        "ask_queue_service",
        "ticket_issued",
        "ask_customer_type",
        "checklist",
        "branch_more",
        "ticket_button",
        "flow_left",
    }
)
