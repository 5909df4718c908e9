"""The flow registry: flows are registered by name; the engine builds the ones the policy enables, and a
policy naming an unknown flow is refused (by the engine and by the policy bundle's check) with the known names."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
import yaml

from bundles import write_manifest
from kiosk.assembly import load_checked
from kiosk.config import DEFAULT_POLICY_DIR
from kiosk.dialogue import DialogueEngine, DialogueSession, Utterance
from kiosk.dialogue.flows import FLOWS, FlowContext, QueueTicketFlow, UnknownFlowError, build_flows, enabled_flows
from kiosk.dialogue.ports import MemoryTicketDispenser
from kiosk.dialogue.replies import Replies
from kiosk.policy import Policy, PolicyError, load_policy
from tests.fakes import NOW, FakeClassifier

KNOWN = "account_open, branch_info, exchange_rate, queue_ticket"


def _enabling(policy: Policy, *names: str) -> Policy:
    return dataclasses.replace(policy, flows=policy.flows.model_copy(update={"enabled": names}))


def test_the_registry_holds_the_four_flows_and_the_default_policy_enables_them_all(policy: Policy) -> None:
    assert sorted(FLOWS) == KNOWN.split(", ")
    assert policy.flows.enabled is None
    assert sorted(enabled_flows(policy)) == sorted(FLOWS)
    flows = build_flows(FlowContext(policy, Replies(policy), MemoryTicketDispenser()))
    assert set(flows) == set(FLOWS)
    assert isinstance(flows["queue_ticket"], QueueTicketFlow)


def test_an_unknown_flow_is_refused_by_the_engine_with_the_known_ones(policy: Policy) -> None:
    with pytest.raises(
        UnknownFlowError, match=rf"flows\.yaml: field enabled: unknown flow\(s\) mortgage \(known: {KNOWN}\)"
    ):
        DialogueEngine(_enabling(policy, "queue_ticket", "mortgage"))
    assert issubclass(UnknownFlowError, PolicyError)


def test_a_flow_left_out_by_the_policy_is_not_run(policy: Policy) -> None:
    model = FakeClassifier({"汇率多少": [("exchange_rate", 0.95)], "我要取号": [("queue_ticket", 0.95)]}, threshold=0.7)
    engine = DialogueEngine(_enabling(policy, "queue_ticket"), model)
    rate = engine.handle(DialogueSession("a"), Utterance(text="汇率多少"), NOW)
    assert (rate.intent, rate.flow) == ("exchange_rate", None)
    ticket = engine.handle(DialogueSession("b"), Utterance(text="我要取号"), NOW)
    assert (ticket.action, ticket.flow) == ("ask", "queue_ticket")
    full = DialogueEngine(policy, model).handle(DialogueSession("c"), Utterance(text="汇率多少"), NOW)
    assert (full.action, full.flow) == ("ask", "exchange_rate")


def test_a_policy_bundle_enabling_an_unknown_flow_is_refused_by_its_check(tmp_path: Path) -> None:
    directory = tmp_path / "policy"
    shutil.copytree(DEFAULT_POLICY_DIR, directory)
    path = directory / "flows.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["enabled"] = ["queue_ticket", "exchange_rate"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    write_manifest(directory, name="policy", kind="policy", version="9.0.0")
    assert load_policy(directory).flows.enabled == ("queue_ticket", "exchange_rate")
    assert enabled_flows(load_checked(directory, kind="policy")) == ("queue_ticket", "exchange_rate")
    data["enabled"] = ["queue_ticket", "loan_calculator"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    write_manifest(directory, name="policy", kind="policy", version="9.0.1")
    with pytest.raises(UnknownFlowError, match=rf"unknown flow\(s\) loan_calculator \(known: {KNOWN}\)"):
        load_checked(directory, kind="policy")


def test_kiosk_policy_manifest_and_check_refuse_an_unknown_flow(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from kiosk.cli.main import app

    directory = tmp_path / "policy"
    shutil.copytree(DEFAULT_POLICY_DIR, directory)
    path = directory / "flows.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["enabled"] = ["queue_ticket", "loan_calculator"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    runner = CliRunner()
    made = runner.invoke(app, ["policy", "manifest", str(directory), "--version", "9.0.0"])
    assert made.exit_code == 1
    assert "unknown flow(s) loan_calculator" in made.output
    write_manifest(directory, name="policy", kind="policy", version="9.0.0")
    checked = runner.invoke(app, ["policy", "check", str(directory)])
    assert checked.exit_code == 1
    assert "unknown flow(s) loan_calculator" in checked.output
    data["enabled"] = ["queue_ticket"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert runner.invoke(app, ["policy", "manifest", str(directory), "--version", "9.0.1"]).exit_code == 0
    assert runner.invoke(app, ["policy", "check", str(directory)]).exit_code == 0
