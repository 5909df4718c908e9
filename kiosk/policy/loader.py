"""Loading and validating a policy bundle."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from bundles.manifest import verify_bundle
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


def load_policy(directory: Path, *, verify: bool = True) -> Policy:
    """Load the policy bundle in ``directory``.

    Args:
        directory: The bundle directory (with ``manifest.json``).
        verify: Check every file against the manifest first.

    Raises:
        PolicyError: the bundle is missing, corrupt, or a file breaks the schema;
            the message names the file and the field.
    """
    try:
        manifest = verify_bundle(directory, expect_kind="policy") if verify else None
    except BundleError as err:
        raise PolicyError(str(err)) from err
    parts = {name.removesuffix(".yaml"): _parse(directory, name, model) for name, model in POLICY_FILES.items()}
    version = manifest.version if manifest is not None else "unverified"
    return Policy(version=version, **parts)  # type: ignore[arg-type]
