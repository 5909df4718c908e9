"""The intent set an NLU bundle declares: ``intents.json`` (label and zh/en display names).

Bundles built before the file existed declare their set through
``calibration.json``'s labels alone; :func:`read_intent_set` then returns the
labels without names.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edge_models.errors import ModelCorruptError

INTENTS_FILE = "intents.json"


class IntentDecl(BaseModel):
    """One intent of a bundle: its label and, for added intents, its display names."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str = Field(pattern=r"^[a-z][a-z0-9_]{1,47}$", description="The intent label.")
    zh: str = Field(default="", description="Display name in Mandarin (empty for built-in core labels).")
    en: str = Field(default="", description="Display name in English (empty for built-in core labels).")


class IntentSet(BaseModel):
    """``intents.json``: every label the model can predict (the internal 'other' label excluded)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = Field(default=1, description="Format version of this file.")
    intents: tuple[IntentDecl, ...] = Field(min_length=1)

    @property
    def labels(self) -> tuple[str, ...]:
        """The labels, in the model's order."""
        return tuple(decl.label for decl in self.intents)


def read_intent_set(bundle_dir: Path, model_labels: tuple[str, ...]) -> IntentSet:
    """The bundle's declared intent set, checked against the labels its model outputs.

    Args:
        bundle_dir: The NLU bundle directory.
        model_labels: ``calibration.json`` labels without the internal 'other' label.

    Raises:
        ModelCorruptError: ``intents.json`` is unreadable, breaks the schema, or
            disagrees with the model's labels (the message names the labels).
    """
    path = bundle_dir / INTENTS_FILE
    if not path.is_file():
        return IntentSet(intents=tuple(IntentDecl(label=label) for label in model_labels))
    try:
        declared = IntentSet.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, ValidationError) as err:
        raise ModelCorruptError(f"{path}: cannot read the intent set: {err}") from err
    if set(declared.labels) != set(model_labels):
        only_model = sorted(set(model_labels) - set(declared.labels))
        only_file = sorted(set(declared.labels) - set(model_labels))
        raise ModelCorruptError(
            f"{path}: intent set differs from the model's labels "
            f"(model only: {', '.join(only_model) or '-'}; {INTENTS_FILE} only: {', '.join(only_file) or '-'})"
        )
    return declared


def write_intent_set(bundle_dir: Path, intents: tuple[IntentDecl, ...]) -> None:
    """Write ``intents.json`` into a bundle being built (before its manifest is written)."""
    text = json.dumps(IntentSet(intents=intents).model_dump(mode="json"), ensure_ascii=False, indent=1)
    (bundle_dir / INTENTS_FILE).write_text(text + "\n", encoding="utf-8")
