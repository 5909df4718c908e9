"""The policy bundle: the default one is complete; broken ones are rejected by file and field."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from bundles import write_manifest
from kiosk.config import DEFAULT_POLICY_DIR
from kiosk.intents import INTENTS
from kiosk.policy import Policy, PolicyError, load_policy


def copy_policy(tmp_path: Path) -> Path:
    target = tmp_path / "policy"
    shutil.copytree(DEFAULT_POLICY_DIR, target)
    return target


def edit(directory: Path, name: str, change: object) -> None:
    path = directory / name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)  # type: ignore[operator]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    write_manifest(directory, name="policy", kind="policy", version="9.0.0")


def test_default_policy_is_complete(policy: Policy) -> None:
    assert set(policy.knowledge.answers) == set(INTENTS)
    assert set(policy.messages.intent_names) == set(INTENTS)
    assert policy.version != "unverified"
    assert {"USD", "EUR", "JPY", "HKD"} <= {c.code for c in policy.rates.exchange.currencies}


def test_knowledge_answers_never_state_rates(policy: Policy) -> None:
    """Rates are quoted from rate tables only; answers carry no percentages or rate figures."""
    for intent, text in policy.knowledge.answers.items():
        for lang in ("zh", "en"):
            assert "%" not in text.get(lang), (intent, lang)
            assert not re.search(r"\d+\.\d+", text.get(lang)), (intent, lang)


def test_committed_manifest_matches_the_files() -> None:
    # load_policy verifies every file's sha256 against manifest.json.
    assert load_policy(DEFAULT_POLICY_DIR).version.startswith("20")


@pytest.mark.parametrize(
    ("name", "change", "expected"),
    [
        ("rates.yaml", lambda d: d["exchange"].pop("as_of"), r"rates\.yaml: field exchange\.as_of"),
        (
            "rates.yaml",
            lambda d: d["exchange"]["currencies"][0].update(buy=-1),
            r"rates\.yaml: field exchange\.currencies\.0\.buy",
        ),
        ("rates.yaml", lambda d: d["exchange"].update(as_of="2026-11-27T09:00:00"), r"time zone"),
        ("knowledge.yaml", lambda d: d["answers"].pop("card_lost"), r"knowledge\.yaml: .*missing intent.*card_lost"),
        ("knowledge.yaml", lambda d: d["answers"].update(card_stolen=d["answers"]["card_lost"]), r"card_stolen"),
        ("rules.yaml", lambda d: d["intents"]["fees"].update(zh=["(unclosed"]), r"rules\.yaml: field intents\.fees"),
        ("thresholds.yaml", lambda d: d.update(max_misses=0), r"thresholds\.yaml: field max_misses"),
        ("thresholds.yaml", lambda d: d.update(schema_version=7), r"newer than this kiosk"),
        ("thresholds.yaml", lambda d: d["staff_bounds"].update(max_misses=[5, 1]), r"staff_bounds\.max_misses"),
        ("branch.yaml", lambda d: d["hours"].update(days=["9-5"] * 7), r"branch\.yaml: field hours\.days"),
        ("messages.yaml", lambda d: d["texts"].pop("risk_alert"), r"messages\.yaml: .*risk_alert"),
    ],
    ids=[
        "missing-as-of",
        "negative-rate",
        "naive-time",
        "missing-answer",
        "unknown-intent",
        "bad-regex",
        "bad-threshold",
        "newer-schema",
        "inverted-staff-bounds",
        "bad-hours",
        "missing-message",
    ],
)
def test_broken_policy_names_file_and_field(tmp_path: Path, name: str, change: object, expected: str) -> None:
    directory = copy_policy(tmp_path)
    edit(directory, name, change)
    with pytest.raises(PolicyError, match=expected):
        load_policy(directory)


def test_tampered_policy_is_rejected(tmp_path: Path) -> None:
    directory = copy_policy(tmp_path)
    path = directory / "rates.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("709.52", "609.52"), encoding="utf-8")
    with pytest.raises(PolicyError, match=r"rates\.yaml does not match its sha256"):
        load_policy(directory)


def test_invalid_yaml_is_rejected(tmp_path: Path) -> None:
    directory = copy_policy(tmp_path)
    (directory / "flows.yaml").write_text("queue_services: [unclosed\n", encoding="utf-8")
    write_manifest(directory, name="policy", kind="policy", version="9.0.0")
    with pytest.raises(PolicyError, match=r"flows\.yaml: not valid YAML"):
        load_policy(directory)


def test_missing_file_is_rejected(tmp_path: Path) -> None:
    directory = copy_policy(tmp_path)
    (directory / "safety.yaml").unlink()
    write_manifest(directory, name="policy", kind="policy", version="9.0.0")
    with pytest.raises(PolicyError, match=r"safety\.yaml: file is missing"):
        load_policy(directory)


def test_the_llm_threshold_may_be_given_per_script() -> None:
    from kiosk.policy.schema import Thresholds

    plain = Thresholds.model_validate({"schema_version": 1, "llm": 0.7})
    assert plain.llm_for("我的卡丢了") == plain.llm_for("lost card") == 0.7
    split = Thresholds.model_validate({"schema_version": 1, "llm": {"han": 0.6, "other": 1.0}})
    assert split.llm_for("我的卡丢了") == 0.6
    assert split.llm_for("lost my card") == 1.0
    with pytest.raises(ValueError, match="han"):
        Thresholds.model_validate({"schema_version": 1, "llm": {"han": 1.5}})
