"""The issue's "done when", end to end on loopback: a service the model does not know, learned from kiosk labels.

Staff at kiosk A label utterances of the new service -> the agent uploads them,
signed -> HQ accepts them -> `kiosk hq train` adds the intent, passes its gates
and starts a staged rollout (`--publish`) -> canary kiosk A installs it and
answers the new service, kiosk B does not have it yet -> the rollout advances on
A's healthy reports -> kiosk B installs it and answers. The time from the last
label to B answering is printed (scripts/bench_loop.py measures it), not asserted.
"""

from __future__ import annotations

from pathlib import Path

from tests.integration.learning_loop import ANSWER_EN, ANSWER_ZH, NEW, run_loop


def test_kiosk_labels_become_a_new_intent_that_rolls_out_from_the_canary_to_the_fleet(
    tmp_path: Path, small_nlu: tuple[Path, Path]
) -> None:
    result = run_loop(tmp_path, small_nlu, labels=160)
    assert result.answers["a_before"]["intent"] != NEW  # the model does not know the service
    assert (result.labelled, result.labels_at_hq, result.accepted) == (160, 160, 160)

    assert result.train["passed"] is True
    assert result.train["added_intents"] == [NEW]
    rollout = result.train["rollout"]
    assert (rollout["name"], rollout["version"], rollout["percent"], rollout["state"]) == (
        "nlu", "1.1.0-rmb", 5, "running",
    )  # fmt: skip
    assert rollout["bundles"] == ["nlu=1.1.0-rmb"]  # the policy that declared the service is out already

    assert result.versions["canary"] == {"a": "1.1.0-rmb", "b": "1.0.0-base"}
    canary, canary_en = result.answers["a_canary"], result.answers["a_canary_en"]
    assert (canary["intent"], canary["stage"], ANSWER_ZH in canary["reply"]) == (NEW, "model", True)
    assert (canary_en["intent"], ANSWER_EN in canary_en["reply"]) == (NEW, True)
    assert result.answers["b_canary"]["intent"] != NEW

    steps = [(s["action"], s["percent"]) for s in result.rollout]
    assert steps == [("advance", 25), ("advance", 100), ("complete", 100)]
    assert result.versions["fleet"] == {"a": "1.1.0-rmb", "b": "1.1.0-rmb"}
    fleet = result.answers["b_fleet"]
    assert (fleet["intent"], fleet["stage"], ANSWER_ZH in fleet["reply"]) == (NEW, "model", True)
    print(f"\nlast label to kiosk B answering: {result.seconds['last_label_to_b_answering']:.1f} s {result.seconds}")
