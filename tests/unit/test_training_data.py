"""The intent model's training folders: the colloquial folders are read, labelled and kept whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_models.build.data import Example, load_examples, split
from edge_models.normalize import Normalizer
from kiosk.intents import INTENTS
from tests.fakes import ROOT

DATA = ROOT / "edge_models" / "data"
COLLOQUIAL = DATA / "intents_colloquial"
# The third batch (issue 12): its own folder, so what it adds can be built and measured apart.
BATCHES = (COLLOQUIAL, DATA / "intents_colloquial3")
# The intents the colloquial folder was written for (issue 12, item 5).
FOCUS_ZH = ("loan_inquiry", "mobile_banking", "update_info", "transfer", "balance_inquiry")


def lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]


@pytest.fixture(scope="module")
def examples() -> dict[str, Example]:
    return {e.text: e for e in load_examples(DATA, INTENTS)}


@pytest.mark.parametrize("folder", BATCHES, ids=lambda p: p.name)
def test_every_colloquial_file_names_an_intent_and_says_where_it_comes_from(folder: Path) -> None:
    files = sorted(folder.glob("*/*.txt"))
    assert files
    assert {f.parent.name for f in files} <= {"zh", "en"}
    for path in files:
        assert path.stem in INTENTS, path
        header = path.read_text(encoding="utf-8").splitlines()[0]
        assert header.startswith("#"), path
        assert "without seeing any evaluation set" in header, path


def test_colloquial_chinese_covers_every_intent_and_weighs_on_the_focus_ones() -> None:
    counts = {p.stem: len(lines(p)) for p in (COLLOQUIAL / "zh").glob("*.txt")}
    assert set(counts) == set(INTENTS)
    assert all(counts[intent] >= 25 for intent in FOCUS_ZH), counts
    assert sum(counts.values()) >= 400


@pytest.mark.parametrize("folder", BATCHES, ids=lambda p: p.name)
def test_every_colloquial_line_reaches_training_with_its_own_label(folder: Path, examples: dict[str, Example]) -> None:
    normalize = Normalizer()
    for path in sorted(folder.glob("*/*.txt")):
        for line in lines(path):
            example = examples.get(normalize(line).text)
            assert example is not None, f"{path}: {line!r} is not in the training data"
            assert (example.intent, example.lang) == (path.stem, path.parent.name), f"{path}: {line!r}"


def test_colloquial_lines_feed_both_training_and_dev(examples: dict[str, Example]) -> None:
    normalize = Normalizer()
    ours = {normalize(line).text for path in COLLOQUIAL.glob("zh/*.txt") for line in lines(path)}
    train, dev = split([e for text, e in examples.items() if text in ours])
    assert len(train) > len(dev) > 0


def test_the_third_batch_repeats_no_line_of_the_other_folders_or_itself() -> None:
    normalize = Normalizer()
    batch = BATCHES[1]
    others = {
        normalize(line).text
        for path in DATA.glob("intents*/*/*.txt")
        if not path.is_relative_to(batch)
        for line in lines(path)
    }
    seen: set[str] = set()
    for path in sorted(batch.glob("*/*.txt")):
        for line in lines(path):
            text = normalize(line).text
            assert text not in others, f"{path}: {line!r} repeats another folder's line"
            assert text not in seen, f"{path}: {line!r} repeats a line of the batch"
            seen.add(text)
    assert len(seen) >= 600
