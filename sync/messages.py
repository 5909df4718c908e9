"""What a kiosk's agent uploads to HQ besides its status report: staff labels and daily counts.

The agent builds these from ``kiosk.db``; HQ validates them with the same
models. Text is masked on the kiosk and again at HQ.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

ITEM_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:+-]{0,127}$"
MAX_LABEL_TEXT = 1000


class LabelItem(BaseModel):
    """One staff label: the right intent of a turn the kiosk was unsure about."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["label"] = "label"
    item_id: str = Field(pattern=ITEM_ID, description="Unique per kiosk; HQ stores an item once.")
    text: str = Field(min_length=1, max_length=MAX_LABEL_TEXT, description="The customer's words, masked.")
    lang: Literal["zh", "en"] = Field(description="Language of the turn.")
    intent: str = Field(min_length=1, max_length=64, description="The intent staff chose.")
    policy_version: str = Field(default="", max_length=64, description="Active policy bundle when uploaded.")
    model_version: str = Field(default="", max_length=64, description="Active intent model bundle when uploaded.")
    labelled_at: str = Field(min_length=1, max_length=40, description="When staff labelled it (ISO 8601).")


class OutcomeCounts(BaseModel):
    """Turns by outcome: the elderly-mode share of a :class:`DailyCount`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    turns: int = Field(ge=0, description="All turns.")
    decided: int = Field(ge=0, description="Turns answered or acted on (no clarification, no hand-off).")
    clarified: int = Field(ge=0, description="Turns where the kiosk asked the customer to clarify.")
    handed_off: int = Field(ge=0, description="Turns handed to staff (hand-off or risk alert).")
    risk_alerts: int = Field(default=0, ge=0, description="Turns that raised a risk alert (also in handed_off).")

    @model_validator(mode="after")
    def _parts_of_turns(self) -> Self:
        if max(self.decided, self.clarified, self.handed_off, self.risk_alerts) > self.turns:
            raise ValueError("an outcome count exceeds the turns")
        if self.risk_alerts > self.handed_off:
            raise ValueError("risk alerts are handed off: risk_alerts cannot exceed handed_off")
        return self


class DailyCount(BaseModel):
    """One day's turns of one intent in one language, by outcome.

    ``risk_alerts`` and ``elderly`` came later: reports of older kiosks lack them (None, "not reported").
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    lang: str = Field(max_length=8, description="Language of the turns.")
    intent: str = Field(max_length=64, description="Intent the kiosk decided.")
    turns: int = Field(ge=0, description="All turns.")
    decided: int = Field(ge=0, description="Turns answered or acted on (no clarification, no hand-off).")
    clarified: int = Field(ge=0, description="Turns where the kiosk asked the customer to clarify.")
    handed_off: int = Field(ge=0, description="Turns handed to staff (hand-off or risk alert).")
    risk_alerts: int | None = Field(
        default=None, ge=0, description="Turns that raised a risk alert (also in handed_off); None: not reported."
    )
    elderly: OutcomeCounts | None = Field(
        default=None, description="The part of these turns in elderly-friendly mode; None: not reported."
    )

    @model_validator(mode="after")
    def _parts_of_turns(self) -> Self:
        if self.risk_alerts is not None and self.risk_alerts > self.handed_off:
            raise ValueError("risk alerts are handed off: risk_alerts cannot exceed handed_off")
        e = self.elderly
        if e is not None:
            parts = (
                (e.turns, self.turns),
                (e.decided, self.decided),
                (e.clarified, self.clarified),
                (e.handed_off, self.handed_off),
                (e.risk_alerts, self.risk_alerts or 0),
            )
            if any(part > whole for part, whole in parts):
                raise ValueError("elderly-mode counts exceed the day's counts")
        return self


class CountsItem(BaseModel):
    """The aggregate counts of one finished day (UTC)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["counts"] = "counts"
    item_id: str = Field(pattern=ITEM_ID, description="Unique per kiosk: ``counts:<day>``.")
    day: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="The day, UTC.")
    rows: tuple[DailyCount, ...] = Field(max_length=400, description="One row per intent and language.")


IntakeItem = Annotated[LabelItem | CountsItem, Field(discriminator="kind")]


class IntakeBatch(BaseModel):
    """The body of ``POST /api/intake``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    items: tuple[IntakeItem, ...] = Field(min_length=1, max_length=200, description="Items, oldest first.")


class IntakeReceipt(BaseModel):
    """HQ's answer: which items it holds now (new or already stored)."""

    model_config = ConfigDict(frozen=True)

    stored: tuple[str, ...] = Field(description="Item ids stored by this request.")
    duplicates: tuple[str, ...] = Field(description="Item ids HQ already had (a resend).")
