"""The learning loop on loopback, step by step: kiosk labels -> HQ -> `kiosk hq train` -> staged rollout.

Used by ``tests/integration/test_learning_loop.py`` (which checks every step) and
``scripts/bench_loop.py`` (which prints the time from the last staff label to
kiosk B answering the new service). Real parts throughout: an HQ server on a
free loopback port with its store, two kiosks with their own state, engines
and sync agents, the admin store's labels, the retraining and its gates. Only
the poll interval is skipped: each agent polls when the loop says so.

The utterances the staff label are the machine-written training candidates of
the new service (``edge_models/data/candidates``); no evaluation split is read.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edge_models.build.train_intent import build
from kiosk.admin.accounts import AdminDB
from kiosk.assembly import EngineReloader
from kiosk.config import DEFAULT_POLICY_DIR, Settings
from kiosk.dialogue import DialogueSession, Utterance
from kiosk.storage import Store
from sync.agent import SyncAgent
from sync.hq.db import HqDB
from sync.targeting import rollout_bucket
from tests.integration.hq_helpers import Hq, cli, cli_lines, cycle, provision_kiosk, running_hq
from tests.integration.test_hq_train import ANSWER_EN, ANSWER_ZH, DATA, NEW, policy_with_new_intent

CANARY_BRANCH = "canary01"
ASK_ZH = "我想开通数字人民币钱包"
ASK_EN = "how do I open an e-CNY wallet"
__all__ = ["ANSWER_EN", "ANSWER_ZH", "ASK_EN", "ASK_ZH", "NEW", "LoopResult", "run_loop"]


@dataclass
class LoopResult:
    """What each step of the loop saw, and how long the steps took (seconds)."""

    labelled: int = 0
    labels_at_hq: int = 0
    accepted: int = 0
    train: dict[str, Any] = field(default_factory=dict)
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)  # step -> the kiosk's decision
    versions: dict[str, dict[str, str]] = field(default_factory=dict)  # step -> kiosk -> active nlu version
    rollout: list[dict[str, Any]] = field(default_factory=list)  # each controller step
    seconds: dict[str, float] = field(default_factory=dict)


class _Kiosk:
    """One kiosk: its engine (reloaded between conversations, as the runtime does) and its sync agent."""

    def __init__(self, state: Path, baseline: Path, hq: Hq, kiosk_id: str, branch: str) -> None:
        settings = Settings(
            state_dir=state, seed_dirs=(DEFAULT_POLICY_DIR, baseline), use_llm=False, use_embedder=False
        )
        self.state = state
        self.engine = EngineReloader.start(settings)
        self.agent: SyncAgent = provision_kiosk(state, hq, kiosk_id, branch)
        self.turns = 0

    def ask(self, text: str) -> dict[str, Any]:
        """A new conversation with one customer turn, recorded in kiosk.db like the runtime records it."""
        self.turns += 1
        session = f"c{self.turns}"
        started = time.perf_counter()
        decision = self.engine().handle(DialogueSession(session), Utterance(text=text), datetime.now(UTC))
        store = Store(self.state / "kiosk.db")
        try:
            turn_id = store.record_turn(session, "typed", text, decision, (time.perf_counter() - started) * 1000)
        finally:
            store.close()
        return {"turn_id": turn_id, "intent": decision.intent, "stage": decision.stage, "reply": decision.reply}

    def nlu(self) -> str:
        """The kiosk's active NLU version."""
        return _active(self.state, "nlu")


def _active(state: Path, name: str) -> str:
    from bundles.activation import active_manifest

    manifest = active_manifest(state, name)
    return manifest.version if manifest is not None else ""


def _late_kiosk_id(at_least: int) -> str:
    """Kiosk B's id: its rollout bucket for the NLU bundle is at least ``at_least`` (it waits for the last stage)."""
    return next(f"kiosk-b{n}" for n in range(1000) if rollout_bucket(f"kiosk-b{n}", "nlu") >= at_least)


def small_base(work: Path, per_file: int = 40) -> tuple[Path, Path]:
    """The first ``per_file`` lines of every own-examples file and the NLU bundle built from them (kiosks run it)."""
    for path in sorted((DATA / "intents").glob("*/*.txt")):
        lines = [x for x in path.read_text(encoding="utf-8").splitlines() if x.strip() and not x.startswith("#")]
        dest = work / "data" / "intents" / path.parent.name / path.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text("\n".join(lines[:per_file]) + "\n", encoding="utf-8")
    build(work / "data", work / "nlu-base", version="1.0.0-base", c_grid=(40.0,))
    return work / "data", work / "nlu-base"


def run_loop(
    work: Path,
    base: tuple[Path, Path],
    *,
    labels: int = 160,
    store: str = "",
    c_grid: str = "40",
    log: Callable[[str], None] = lambda _m: None,
) -> LoopResult:
    """Run the loop in ``work`` (a fresh folder); returns what each step saw.

    Args:
        work: Folder for HQ, both kiosks and the new bundles.
        base: The base training data and the NLU bundle built from it (what the kiosks run), see :func:`small_base`.
        labels: How many utterances staff at kiosk A label with the new service.
        store: HQ's store URL (default: SQLite under ``work``).
        c_grid: ``kiosk hq train --c-grid`` (one value: no search; empty: the full search).
        log: Progress lines.
    """
    result = LoopResult()
    data, baseline = base
    policy = policy_with_new_intent(work / "policy-rmb")
    with running_hq(work / "hq", store or f"sqlite:///{work / 'hq-store' / 'hq.db'}") as hq:
        a = _Kiosk(work / "kiosk-a", baseline, hq, "kiosk-a", CANARY_BRANCH)
        b = _Kiosk(work / "kiosk-b", baseline, hq, _late_kiosk_id(25), "sh02")
        result.answers["a_before"] = a.ask(ASK_ZH)

        # HQ declares the new service (its answers and names) in a policy: staff can now label it.
        cli("hq", "add", str(hq.home), str(policy))
        cli("hq", "publish", str(hq.home))
        for kiosk in (a, b):
            cycle(kiosk.agent)
        utterances = [json.loads(x) for x in (DATA / "candidates" / f"{NEW}.jsonl").read_text("utf-8").splitlines()]
        admin = AdminDB(a.state / "kiosk.db")
        try:
            known = a.engine().policy.intents
            for row in utterances[:labels]:
                turn = a.ask(row["text"])
                admin.label(turn["turn_id"], NEW, "clerk", known=known)
                result.labelled += 1
        finally:
            admin.close()
        last_label = time.perf_counter()
        log(f"staff at kiosk A labelled {result.labelled} utterances")

        cycle(a.agent)  # the agent uploads the labels, signed
        db = HqDB(hq.store)
        try:
            rows = db.labels()
            result.labels_at_hq = len(rows)
            for row in rows:
                if row["intent"] == NEW and row["kiosk_id"] == "kiosk-a":
                    db.judge(row["id"], "accepted", by="hq-reviewer")
        finally:
            db.close()
        result.seconds["labels_to_hq_and_review"] = time.perf_counter() - last_label
        exported = cli_lines("hq", "labels", str(hq.home), "--status", "accepted")
        result.accepted = len(exported)
        accepted = work / "accepted.jsonl"
        accepted.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in exported), encoding="utf-8")

        started = time.perf_counter()
        result.train = cli(
            "hq", "train", "--labels", str(accepted), "--out", str(work / "nlu-rmb"), "--policy", str(policy),
            "--data", str(data), "--baseline", str(baseline), "--version", "1.1.0-rmb",
            "--max-recall-drop", "0.25", "--tolerance", "0.03", "--c-grid", c_grid,
            "--publish", str(hq.home), "--branches", CANARY_BRANCH, "--stages", "5,25,100", "--soak-s", "0",
        )  # fmt: skip
        result.seconds["train_gate_publish"] = time.perf_counter() - started
        log(f"trained, gated and published in {result.seconds['train_gate_publish']:.1f} s")

        started = time.perf_counter()
        for kiosk in (a, b):
            cycle(kiosk.agent)
        result.versions["canary"] = {"a": a.nlu(), "b": b.nlu()}
        result.answers["a_canary"] = a.ask(ASK_ZH)
        result.answers["a_canary_en"] = a.ask(ASK_EN)
        result.answers["b_canary"] = b.ask(ASK_ZH)
        result.seconds["canary_install_answer"] = time.perf_counter() - started

        started = time.perf_counter()
        for _ in range(3):  # 5% -> 25% -> 100%, each on kiosk A's fresh healthy report
            cycle(a.agent)
            result.rollout.append(cli("hq", "rollout", "advance", str(hq.home), "nlu"))
            cycle(b.agent)
            if b.nlu() == "1.1.0-rmb":
                break
        result.versions["fleet"] = {"a": a.nlu(), "b": b.nlu()}
        result.answers["b_fleet"] = b.ask(ASK_ZH)
        done = time.perf_counter()
        result.seconds["rollout_to_b"] = done - started
        result.seconds["last_label_to_b_answering"] = done - last_label
        log(f"last label to kiosk B answering: {result.seconds['last_label_to_b_answering']:.1f} s")
        cycle(b.agent)
        result.rollout.append(cli("hq", "rollout", "advance", str(hq.home), "nlu"))
    return result
