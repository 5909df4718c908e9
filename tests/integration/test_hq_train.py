"""`kiosk hq train` for real: a small base set, a new intent from a labels file, the gates, the kiosk answering it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from edge_models.intent_onnx import OnnxIntentClassifier
from kiosk.assembly import EngineReloader
from kiosk.cli import app
from kiosk.config import DEFAULT_POLICY_DIR, Settings
from kiosk.dialogue import DialogueEngine, DialogueSession, Utterance
from kiosk.intents import INTENT_SET_FEATURE, IntentSetError, check_model_labels
from kiosk.policy import PolicyError, load_policy
from sync.bundle import read_manifest
from tests.fakes import NOW, ROOT

DATA = ROOT / "edge_models" / "data"
NEW = "digital_rmb_wallet"
ANSWER_ZH = "数字人民币钱包可在数字人民币App开通，选择本行后绑定借记卡即可；大堂经理也可以帮您办理。"
ANSWER_EN = (
    "Open a digital RMB (e-CNY) wallet in the e-CNY app, choose our bank and link your debit card; staff can help."
)


def policy_with_new_intent(target: Path) -> Path:
    """The default policy plus the new service: its answer and display names in both languages."""
    shutil.copytree(DEFAULT_POLICY_DIR, target)
    knowledge = yaml.safe_load((target / "knowledge.yaml").read_text(encoding="utf-8"))
    knowledge["answers"][NEW] = {"zh": ANSWER_ZH, "en": ANSWER_EN}
    (target / "knowledge.yaml").write_text(yaml.safe_dump(knowledge, allow_unicode=True), encoding="utf-8")
    messages = yaml.safe_load((target / "messages.yaml").read_text(encoding="utf-8"))
    messages["intent_names"][NEW] = {"zh": "数字人民币钱包", "en": "Digital RMB wallet"}
    (target / "messages.yaml").write_text(yaml.safe_dump(messages, allow_unicode=True), encoding="utf-8")
    result = CliRunner().invoke(app, ["policy", "manifest", str(target), "--version", "2026.12.05-rmb"])
    if result.exit_code != 0:
        raise RuntimeError(result.output)
    return target


def write_labels(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, small_nlu: tuple[Path, Path]) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hqtrain")
    data, baseline = small_nlu
    policy = policy_with_new_intent(root / "policy")
    machine = [json.loads(x) for x in (DATA / "candidates" / f"{NEW}.jsonl").read_text(encoding="utf-8").splitlines()]
    labels = write_labels(root / "labels.jsonl", machine[:160])
    return {"root": root, "data": data, "baseline": baseline, "policy": policy, "labels": labels}


def run_train(setup: dict[str, Path], labels: Path, out: Path, *extra: str) -> tuple[int, str]:
    args = ["hq", "train", "--labels", str(labels), "--out", str(out), "--policy", str(setup["policy"])]
    args += ["--data", str(setup["data"]), "--baseline", str(setup["baseline"]), *extra]
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.output


def test_the_policy_that_adds_an_intent_requires_the_intent_set_feature(setup: dict[str, Path]) -> None:
    assert read_manifest(setup["policy"]).requires_features == (INTENT_SET_FEATURE,)
    policy = load_policy(setup["policy"])
    assert policy.added_intents == (NEW,)
    with pytest.raises(PolicyError, match=f"needs feature '{INTENT_SET_FEATURE}', this kiosk has none"):
        load_policy(setup["policy"], features=())


@pytest.fixture(scope="module")
def trained(setup: dict[str, Path]) -> tuple[int, str, Path]:
    out = setup["root"] / "nlu-new"
    code, output = run_train(setup, setup["labels"], out, "--max-recall-drop", "0.25", "--tolerance", "0.03")
    return code, output, out


def test_hq_train_adds_an_intent_and_the_kiosk_answers_the_new_service(
    setup: dict[str, Path], trained: tuple[int, str, Path]
) -> None:
    code, output, out = trained
    assert code == 0, output
    assert any(line.startswith("new intent recall") and NEW in line for line in output.splitlines())
    assert "FAIL" not in output
    manifest = read_manifest(out)
    assert manifest.requires_features == (INTENT_SET_FEATURE,)
    model = OnnxIntentClassifier(out)
    assert model.intent_set.labels[-1] == NEW
    assert {d.label: (d.zh, d.en) for d in model.intent_set.intents}[NEW] == ("数字人民币钱包", "Digital RMB wallet")
    # The kiosk with the new policy answers the new service; with the old policy it refuses the model by name.
    engine = DialogueEngine(load_policy(setup["policy"]), model)
    decision = engine.handle(DialogueSession("s"), Utterance(text="我想开通数字人民币钱包"), NOW)
    assert decision.intent == NEW
    assert ANSWER_ZH in decision.reply
    decision = engine.handle(DialogueSession("t"), Utterance(text="how do I open an e-CNY wallet"), NOW)
    assert (decision.intent, ANSWER_EN in decision.reply) == (NEW, True)
    with pytest.raises(IntentSetError, match=f"predicts '{NEW}', which the policy does not answer"):
        check_model_labels(model.intent_set.labels, load_policy(DEFAULT_POLICY_DIR).intents)


def test_the_assembled_kiosk_serves_the_new_bundle_only_with_a_policy_that_answers_it(
    setup: dict[str, Path], trained: tuple[int, str, Path], tmp_path: Path
) -> None:
    code, output, out = trained
    assert code == 0, output
    flags = {"use_llm": False, "use_embedder": False}
    old = EngineReloader.start(Settings(state_dir=tmp_path / "old", seed_dirs=(DEFAULT_POLICY_DIR, out), **flags))
    assert any(f"predicts '{NEW}', which the policy does not answer" in p for p in old.health.problems)
    assert old.health.nlu_version == "none"  # refused: the kiosk serves with rules, never an unanswerable label
    new = EngineReloader.start(Settings(state_dir=tmp_path / "new", seed_dirs=(setup["policy"], out), **flags))
    assert new.health.nlu_version == read_manifest(out).version
    decision = new.engine.handle(DialogueSession("s"), Utterance(text="数字人民币钱包怎么开通"), NOW)
    assert (decision.intent, decision.stage, ANSWER_ZH in decision.reply) == (NEW, "model", True)


def test_a_failed_gate_exits_non_zero_and_writes_nothing(setup: dict[str, Path]) -> None:
    # Poisoned labels: every lost-card example relabelled as a complaint; the dev split still says card_lost.
    poison = []
    for lang in ("zh", "en"):
        path = setup["data"] / "intents" / lang / "card_lost.txt"
        poison += [
            {"text": t, "lang": lang, "intent": "complaint"} for t in path.read_text(encoding="utf-8").splitlines() if t
        ]
    labels = write_labels(setup["root"] / "poison.jsonl", poison)
    out = setup["root"] / "nlu-poisoned"
    code, output = run_train(setup, labels, out)
    assert code == 1, output
    failed = [line for line in output.splitlines() if line.endswith("FAIL")]
    assert any(line.startswith("intent recall") and "card_lost" in line for line in failed), output
    assert "gates failed" in output
    assert not out.exists()
    assert (setup["root"] / "nlu-poisoned.rejected" / "manifest.json").is_file()


def test_labels_naming_an_intent_the_policy_lacks_are_refused_before_training(setup: dict[str, Path]) -> None:
    labels = write_labels(
        setup["root"] / "unknown.jsonl", [{"text": "我想买黄金", "lang": "zh", "intent": "gold_bars"}]
    )
    code, output = run_train(setup, labels, setup["root"] / "nlu-unknown")
    assert code == 1
    assert "line 1: intent 'gold_bars' has no entry in the policy" in output
