"""Settings staff may change on the admin page, each within bounds.

HQ's policy (``thresholds.yaml``) sets the defaults and, in
``staff_bounds``, the range staff may choose from; staff overrides are
stored in the ``settings`` table under ``admin.<name>`` and a value outside
HQ's range is refused. The bounds below apply only where the policy names none.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from kiosk.admin.errors import SettingError

Kind = Literal["float", "int", "choice", "bool", "hours"]
PREFIX = "admin."
_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True, slots=True)
class SettingSpec:
    """One editable setting: its kind, bounds and default."""

    name: str
    label: str
    kind: Kind
    default: Any
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    supervisor: bool = True
    help: str = ""

    def parse(self, raw: str | None) -> Any:
        """The typed value of a form field.

        Raises:
            SettingError: not a value of this kind, or outside the bounds.
        """
        text = (raw or "").strip()
        if self.kind == "bool":
            return text in ("on", "true", "1", "yes")
        if self.kind == "choice":
            if text not in self.choices:
                raise SettingError(f"{self.label}: choose one of {', '.join(self.choices)}")
            return text
        if self.kind == "hours":
            match = _HOURS.fullmatch(text)
            if match is None or match.group(1, 2) >= match.group(3, 4):
                raise SettingError(f"{self.label}: write it as HH:MM-HH:MM, opening before closing")
            return text
        try:
            value: float = int(text) if self.kind == "int" else float(text)
        except ValueError as err:
            raise SettingError(f"{self.label}: {text!r} is not a number") from err
        if self.low is not None and self.high is not None and not self.low <= value <= self.high:
            raise SettingError(f"{self.label}: must be between {self.low:g} and {self.high:g} (HQ bounds)")
        return value


SPECS: tuple[SettingSpec, ...] = (
    SettingSpec(
        "model_threshold",
        "Intent model threshold",
        "float",
        0.74,
        0.5,
        0.95,
        help="Model confidence needed to decide without asking back.",
    ),
    SettingSpec("rules_confidence", "Keyword rule confidence", "float", 0.8, 0.5, 0.95),
    SettingSpec("max_misses", "Misses before hand-off", "int", 2, 1, 4),
    SettingSpec("clarify_options", "Choices offered when unsure", "int", 3, 2, 5),
    SettingSpec("default_lang", "Default language", "choice", "zh", choices=("zh", "en"), supervisor=False),
    SettingSpec("volume", "Volume (%)", "int", 70, 0, 100, supervisor=False),
    SettingSpec("speech_rate", "Speech rate (x normal)", "float", 1.0, 0.6, 1.4, supervisor=False),
    SettingSpec("elderly_mode", "Elderly-friendly mode", "bool", False, supervisor=False),
    SettingSpec("opening_hours", "Opening hours", "hours", "09:00-17:00", supervisor=False),
)
BY_NAME = {spec.name: spec for spec in SPECS}


def spec(name: str, bounds: Mapping[str, tuple[float, float]] | None = None) -> SettingSpec:
    """The spec of a setting, with HQ's bounds from the active policy when given.

    Raises:
        SettingError: no such setting.
    """
    found = BY_NAME.get(name)
    if found is None:
        raise SettingError(f"unknown setting {name!r}")
    if bounds and name in bounds:
        low, high = bounds[name]
        found = replace(found, low=low, high=high)
    return found


def specs(bounds: Mapping[str, tuple[float, float]] | None = None) -> tuple[SettingSpec, ...]:
    """Every setting, with HQ's bounds applied."""
    return tuple(spec(s.name, bounds) for s in SPECS)
