"""The intent set comes from the bundles: policy additions, the NLU bundle's intents.json, features by name."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from edge_models.errors import ModelCorruptError
from edge_models.intent_set import INTENTS_FILE, IntentDecl, read_intent_set, write_intent_set
from kiosk.config import DEFAULT_POLICY_DIR
from kiosk.intents import (
    INTENT_SET_FEATURE,
    INTENTS,
    KIOSK_FEATURES,
    FeatureMissingError,
    IntentSetError,
    check_model_labels,
    require_features,
)
from kiosk.policy import PolicyError, load_policy
from sync import BundleFeatureError, check_features, read_manifest, write_manifest

NEW = "digital_rmb_wallet"


def policy_copy(tmp_path: Path) -> Path:
    target = tmp_path / "policy"
    shutil.copytree(DEFAULT_POLICY_DIR, target)
    return target


def edit(directory: Path, name: str, change: object, features: tuple[str, ...] = ()) -> None:
    path = directory / name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)  # type: ignore[operator]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    write_manifest(directory, name="policy", kind="policy", version="9.0.0", requires_features=features)


def add_answer(data: dict[str, dict[str, object]]) -> None:
    data["answers"][NEW] = {"zh": "数字人民币钱包在App里开通。", "en": "Open the e-CNY wallet in the app."}


def add_name(data: dict[str, dict[str, object]]) -> None:
    data["intent_names"][NEW] = {"zh": "数字人民币钱包", "en": "Digital RMB wallet"}


def test_the_default_policy_serves_exactly_the_core() -> None:
    policy = load_policy(DEFAULT_POLICY_DIR)
    assert policy.intents == INTENTS
    assert policy.added_intents == ()


def test_a_policy_adds_an_intent_with_its_answer_and_display_names(tmp_path: Path) -> None:
    directory = policy_copy(tmp_path)
    edit(directory, "knowledge.yaml", add_answer)
    edit(directory, "messages.yaml", add_name, features=(INTENT_SET_FEATURE,))
    policy = load_policy(directory)
    assert policy.intents == (*INTENTS, NEW)
    assert policy.added_intents == (NEW,)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ((("knowledge.yaml", add_answer),), rf"messages\.yaml: .*{NEW} have no display names"),
        ((("messages.yaml", add_name),), rf"messages\.yaml: .*{NEW} have no answer in knowledge\.yaml"),
        (
            (("rules.yaml", lambda d: d["intents"].update(gold_bars={"zh": ["黄金"]})),),
            r"rules\.yaml: field intents: unknown intent label\(s\): gold_bars",
        ),
        (
            (("knowledge.yaml", lambda d: d["answers"].update({"Bad-Label": d["answers"]["fees"]})),),
            r"malformed intent label\(s\): Bad-Label",
        ),
    ],
    ids=["answer-without-names", "names-without-answer", "rule-for-unknown-intent", "malformed-label"],
)
def test_an_incomplete_added_intent_is_refused_naming_it(
    tmp_path: Path, changes: tuple[tuple[str, object], ...], expected: str
) -> None:
    directory = policy_copy(tmp_path)
    for name, change in changes:
        edit(directory, name, change)
    with pytest.raises(PolicyError, match=expected):
        load_policy(directory)


def test_a_bundle_needing_a_feature_the_kiosk_lacks_is_refused_by_name(tmp_path: Path) -> None:
    directory = policy_copy(tmp_path)
    write_manifest(directory, name="policy", kind="policy", version="9.0.1", requires_features=("voice-cloning-v9",))
    with pytest.raises(PolicyError, match=r"needs feature 'voice-cloning-v9', this kiosk has intent-set-v2"):
        load_policy(directory)
    with pytest.raises(FeatureMissingError, match="'voice-cloning-v9'"):
        require_features(directory)
    with pytest.raises(BundleFeatureError, match="this kiosk has none"):
        check_features(read_manifest(directory), ())


def test_bundles_without_the_field_keep_working(tmp_path: Path) -> None:
    directory = policy_copy(tmp_path)
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    assert "requires_features" not in manifest  # the committed default predates the field
    assert read_manifest(directory).requires_features == ()
    require_features(directory, ())
    load_policy(directory, features=())
    assert INTENT_SET_FEATURE in KIOSK_FEATURES


def test_the_nlu_intent_set_round_trips_and_must_match_the_model(tmp_path: Path) -> None:
    labels = (*INTENTS, NEW)
    write_intent_set(tmp_path, (*(IntentDecl(label=x) for x in INTENTS), IntentDecl(label=NEW, zh="数币", en="e-CNY")))
    declared = read_intent_set(tmp_path, labels)
    assert declared.labels == labels
    assert declared.intents[-1] == IntentDecl(label=NEW, zh="数币", en="e-CNY")
    with pytest.raises(ModelCorruptError, match=rf"model only: -; intents\.json only: {NEW}"):
        read_intent_set(tmp_path, INTENTS)


def test_an_old_nlu_bundle_declares_its_set_by_its_labels(tmp_path: Path) -> None:
    declared = read_intent_set(tmp_path, INTENTS)
    assert declared.labels == INTENTS
    (tmp_path / INTENTS_FILE).write_text('{"intents": [{"label": 7}]}', encoding="utf-8")
    with pytest.raises(ModelCorruptError, match="cannot read the intent set"):
        read_intent_set(tmp_path, INTENTS)


def test_a_model_label_the_policy_lacks_is_refused_naming_it() -> None:
    check_model_labels((*INTENTS, NEW), (*INTENTS, NEW))
    check_model_labels(INTENTS, (*INTENTS, NEW))  # a policy may answer more than the model predicts
    with pytest.raises(IntentSetError, match=rf"intent model 2\.0 predicts '{NEW}', which the policy does not answer"):
        check_model_labels((*INTENTS, NEW), INTENTS, version="2.0")


def test_the_field_is_written_only_when_a_bundle_needs_a_feature(tmp_path: Path) -> None:
    directory = policy_copy(tmp_path)
    write_manifest(directory, name="policy", kind="policy", version="9.0.2")
    assert "requires_features" not in json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    write_manifest(directory, name="policy", kind="policy", version="9.0.3", requires_features=(INTENT_SET_FEATURE,))
    written = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    assert written["requires_features"] == [INTENT_SET_FEATURE]


def test_the_sync_agents_health_check_refuses_an_nlu_bundle_by_feature_before_opening_it(tmp_path: Path) -> None:
    from kiosk.cli.sync import _checkers

    (tmp_path / "model.onnx").write_bytes(b"not opened")
    write_manifest(tmp_path, name="nlu", kind="nlu", version="3.0.0", requires_features=("intent-set-v3",))
    with pytest.raises(
        BundleFeatureError, match=r"nlu 3\.0\.0 needs feature 'intent-set-v3', this kiosk has intent-set-v2"
    ):
        _checkers()["nlu"](tmp_path)  # the kind registry checks features for every kind, before loading
