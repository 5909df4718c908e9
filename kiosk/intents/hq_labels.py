"""Reading an accepted-labels file (HQ intake export) for retraining: ``docs/hq/labels-format.md``.

A labels file is JSON Lines (``.jsonl``) or CSV with a header (``.csv``); each
row is one masked customer utterance with its language and the intent staff
accepted for it. Columns or keys beyond ``text``, ``lang``, ``intent`` are
ignored (an export may add ids and times); a ``status`` other than ``accepted``
is refused, so ``kiosk hq labels HOME --status accepted > accepted.jsonl`` feeds
``kiosk hq train --labels accepted.jsonl`` directly. A bad row is reported with its line
number and nothing is trained: the caller gets every problem at once.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from kiosk.intents.core import LANGS, is_label
from kiosk.privacy import mask_pii

MAX_TEXT = 500


class LabelsFileError(Exception):
    """The labels file cannot be read, or some of its rows are bad (all of them are listed)."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        super().__init__(
            f"{path}: " + "; ".join(problems[:20]) + (f" (and {len(problems) - 20} more)" if len(problems) > 20 else "")
        )
        self.problems = problems


@dataclass(frozen=True, slots=True)
class LabelRow:
    """One accepted label: masked text, its language, the intent."""

    text: str
    lang: str
    intent: str
    line: int


def _row(raw: object, line: int) -> LabelRow | str:
    if not isinstance(raw, dict):
        return f"line {line}: expected an object with text, lang, intent"
    text, lang, intent = raw.get("text"), raw.get("lang"), raw.get("intent")
    if not isinstance(text, str) or not text.strip():
        return f"line {line}: text is missing or empty"
    if len(text) > MAX_TEXT:
        return f"line {line}: text is longer than {MAX_TEXT} characters"
    if lang not in LANGS:
        return f"line {line}: lang must be one of {', '.join(LANGS)}, not {lang!r}"
    if not isinstance(intent, str) or not is_label(intent):
        return f"line {line}: intent {intent!r} is not a well-formed label"
    status = raw.get("status", "accepted")
    if status != "accepted":
        return f"line {line}: status is {status!r}: only accepted labels are trained on"
    if mask_pii(text) != text:
        return f"line {line}: text holds personal data that is not masked"
    return LabelRow(text.strip(), str(lang), intent, line)


class _Bad(str):
    """A problem found while splitting the file into rows (not a row)."""

    __slots__ = ()


def _raw_rows(path: Path) -> Iterable[tuple[int, object]]:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(text.splitlines())
        missing = {"text", "lang", "intent"} - set(reader.fieldnames or ())
        if missing:
            yield 1, _Bad(f"header lacks column(s) {', '.join(sorted(missing))}")
            return
        for row in reader:
            yield reader.line_num, row
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as err:
            yield number, _Bad(f"not valid JSON: {err.msg}")


def read_labels(path: Path, known: Iterable[str] | None = None) -> list[LabelRow]:
    """Read and check every row of a labels file (``.jsonl`` or ``.csv``).

    Args:
        path: The labels file.
        known: The intents that may appear (the core plus the policy's added ones); None accepts any
            well-formed label.

    Raises:
        LabelsFileError: the file is unreadable, empty, or rows are bad (every bad row is named).
    """
    try:
        raw_rows = list(_raw_rows(path))
    except (OSError, UnicodeDecodeError) as err:
        raise LabelsFileError(path, [f"cannot read: {err}"]) from err
    allowed = set(known) if known is not None else None
    rows: list[LabelRow] = []
    problems: list[str] = []
    for line, raw in raw_rows:
        parsed = f"line {line}: {raw}" if isinstance(raw, _Bad) else _row(raw, line)
        if isinstance(parsed, str):
            problems.append(parsed)
        elif allowed is not None and parsed.intent not in allowed:
            problems.append(f"line {line}: intent {parsed.intent!r} has no entry in the policy")
        else:
            rows.append(parsed)
    if problems:
        raise LabelsFileError(path, problems)
    if not rows:
        raise LabelsFileError(path, ["no labelled rows"])
    return rows
