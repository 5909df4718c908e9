"""Loading and validating a policy bundle."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from bundles import check_features, verify_bundle
from kiosk.intents import INTENTS, KIOSK_FEATURES
from kiosk.policy.schema import (
    Branch,
    Checklists,
    Flows,
    Knowledge,
    Messages,
    Rates,
    Rules,
    Safety,
    Thresholds,
)
from sync.errors import BundleError

_M = TypeVar("_M", bound=BaseModel)


class PolicyError(Exception):
    """A policy bundle is missing, corrupt or breaks the schema.

    The message names the file and the field.
    """


@dataclass(frozen=True, slots=True)
class Policy:
    """Everything headquarters decides: answers, rules, rates, flows, thresholds."""

    version: str
    knowledge: Knowledge
    rules: Rules
    safety: Safety
    rates: Rates
    branch: Branch
    flows: Flows
    checklists: Checklists
    thresholds: Thresholds
    messages: Messages

    @property
    def intents(self) -> tuple[str, ...]:
        """The intent set this policy serves: the built-in core, then the labels it adds (sorted)."""
        added = sorted(set(self.knowledge.answers) - set(INTENTS))
        return (*INTENTS, *added)

    @property
    def added_intents(self) -> tuple[str, ...]:
        """Labels beyond the built-in core (new services published by HQ)."""
        return self.intents[len(INTENTS) :]


POLICY_FILES: dict[str, type[BaseModel]] = {
    "knowledge.yaml": Knowledge,
    "rules.yaml": Rules,
    "safety.yaml": Safety,
    "rates.yaml": Rates,
    "branch.yaml": Branch,
    "flows.yaml": Flows,
    "checklists.yaml": Checklists,
    "thresholds.yaml": Thresholds,
    "messages.yaml": Messages,
}


def _parse(directory: Path, name: str, model: type[_M]) -> _M:
    path = directory / name
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise PolicyError(f"{name}: file is missing") from err
    except (UnicodeDecodeError, yaml.YAMLError) as err:
        raise PolicyError(f"{name}: not valid YAML: {err}") from err
    if not isinstance(data, dict):
        raise PolicyError(f"{name}: expected a mapping at the top level")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise PolicyError(f"{name}: field {loc}: {first['msg']}") from err


def _check_intent_set(parts: dict[str, BaseModel]) -> None:
    """Every file names only intents the policy answers, and every answered intent has display names."""
    knowledge, messages = parts["knowledge"], parts["messages"]
    rules, flows = parts["rules"], parts["flows"]
    if not (
        isinstance(knowledge, Knowledge)
        and isinstance(messages, Messages)
        and isinstance(rules, Rules)
        and isinstance(flows, Flows)
    ):  # pragma: no cover - POLICY_FILES maps these names to these models
        raise PolicyError("policy files are of unexpected types")
    answered = set(knowledge.answers)
    named = set(messages.intent_names)
    if named - answered:
        extra = ", ".join(sorted(named - answered))
        raise PolicyError(f"messages.yaml: field intent_names: intent(s) {extra} have no answer in knowledge.yaml")
    if answered - named:
        extra = ", ".join(sorted(answered - named))
        raise PolicyError(f"messages.yaml: field intent_names: intent(s) {extra} have no display names")
    checks = (
        ("rules.yaml", "intents", set(rules.intents)),
        ("knowledge.yaml", "faq", {entry.intent for entry in knowledge.faq}),
        ("flows.yaml", "top_services", set(flows.top_services)),
    )
    for name, field, labels in checks:
        unknown = sorted(labels - answered)
        if unknown:
            raise PolicyError(f"{name}: field {field}: unknown intent label(s): {', '.join(unknown)}")


def load_policy(directory: Path, *, verify: bool = True, features: Iterable[str] = KIOSK_FEATURES) -> Policy:
    """Load the policy bundle in ``directory``.

    Args:
        directory: The bundle directory (with ``manifest.json``).
        verify: Check every file against the manifest first.
        features: This kiosk's runtime features; a manifest that requires another is refused by name.

    Raises:
        PolicyError: the bundle is missing, corrupt, needs a feature the kiosk lacks, or a file
            breaks the schema (the message names the file and the field, or the feature).
    """
    try:
        manifest = verify_bundle(directory, expect_kind="policy") if verify else None
        if manifest is not None:
            check_features(manifest, features)
    except BundleError as err:
        raise PolicyError(str(err)) from err
    parts = {name.removesuffix(".yaml"): _parse(directory, name, model) for name, model in POLICY_FILES.items()}
    _check_intent_set(parts)
    version = manifest.version if manifest is not None else "unverified"
    return Policy(version=version, **parts)  # type: ignore[arg-type]
