"""Training examples: the project's own files and mapped BANKING77 train rows."""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from edge_models.intent_onnx import OTHER_LABEL
from edge_models.normalize import Normalizer

DEV_PERCENT = 15


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled utterance (text already normalised)."""

    text: str
    lang: str
    intent: str
    source: str


def _bucket(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") % 100


def load_examples(data_dir: Path, labels: Iterable[str], normalizer: Normalizer | None = None) -> list[Example]:
    """Read ``intents*/<lang>/<intent>.txt`` and the BANKING77 training rows.

    ``banking77_train_mapped.tsv`` rows carry a kiosk intent;
    ``banking77_train_other.tsv`` rows are banking questions without one and
    get the internal label ``_other``.

    Texts are normalised as the kiosk normalises them; duplicates after
    normalisation keep their first label.

    Raises:
        ValueError: a file names an intent that is not in ``labels``.
    """
    normalize = normalizer or Normalizer()
    known = {*labels, OTHER_LABEL}
    seen: dict[str, Example] = {}
    raw: list[tuple[str, str, str, str]] = []
    for path in sorted(data_dir.glob("intents*/*/*.txt")):
        lang, intent = path.parent.name, path.stem
        if intent not in known:
            raise ValueError(f"{path}: {intent!r} is not an intent label")
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                raw.append((line, lang, intent, "own"))
    mapped = data_dir / "banking77_train_mapped.tsv"
    if mapped.is_file():
        with mapped.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                if row["intent"] not in known:
                    raise ValueError(f"{mapped}: {row['intent']!r} is not an intent label")
                raw.append((row["text"], "en", row["intent"], "banking77"))
    other = data_dir / "banking77_train_other.tsv"
    if other.is_file():
        with other.open(encoding="utf-8", newline="") as handle:
            raw.extend(
                (row["text"], "en", OTHER_LABEL, "banking77-other") for row in csv.DictReader(handle, delimiter="\t")
            )
    for text, lang, intent, source in raw:
        norm = normalize(text).text
        if norm and norm not in seen:
            seen[norm] = Example(norm, lang, intent, source)
    return list(seen.values())


def merge_examples(first: list[Example], then: list[Example]) -> list[Example]:
    """``first`` (accepted labels), then the examples of ``then`` whose text is not already there.

    A text both sets hold keeps the label of ``first``: a label staff accepted at HQ
    corrects the base data.
    """
    seen = {e.text for e in first}
    return [*first, *(e for e in then if e.text not in seen)]


def split(examples: list[Example], dev_percent: int = DEV_PERCENT) -> tuple[list[Example], list[Example]]:
    """Deterministic train/dev split by a hash of the text."""
    train = [e for e in examples if _bucket(e.text) >= dev_percent]
    dev = [e for e in examples if _bucket(e.text) < dev_percent]
    return train, dev
