"""The rollout controller's decision, its plan, and the targeting fields it writes (cohort, revoked)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from sync.hq.rollout import KioskHealth, RolloutPlan, judge, kiosk_health
from sync.targeting import BundleTarget, is_targeted, rollout_bucket

START = "2026-12-05T10:00:00+00:00"
NOW = datetime(2026, 12, 5, 10, 5, tzinfo=UTC)


def kiosk(kiosk_id: str, *, on_new: bool = True, failed: bool = False, seen: str = START) -> KioskHealth:
    return KioskHealth(kiosk_id, "sh01", "2.0" if on_new else "1.0", on_new, failed, "x" if failed else "", seen)


@pytest.mark.parametrize(
    ("kiosks", "plan", "stage", "action"),
    [
        pytest.param([kiosk("a")], RolloutPlan(), 0, "advance", id="healthy-canary-widens"),
        pytest.param([kiosk("a")], RolloutPlan(), 2, "complete", id="healthy-at-100-completes"),
        pytest.param([kiosk("a", failed=True)], RolloutPlan(), 0, "halt", id="failed-canary-halts"),
        pytest.param(
            [kiosk("a"), kiosk("b"), kiosk("c"), kiosk("d"), kiosk("e", failed=True)],
            RolloutPlan(max_failure_rate=0.2),
            1,
            "advance",
            id="one-in-five-is-at-the-threshold",
        ),
        pytest.param(
            [kiosk("a"), kiosk("b"), kiosk("c", failed=True)], RolloutPlan(), 1, "halt", id="one-in-three-halts"
        ),
        pytest.param([kiosk("a", on_new=False)], RolloutPlan(), 0, "wait", id="nobody-on-new-waits"),
        pytest.param(
            [kiosk("a", seen="2026-12-05T09:59:59+00:00")], RolloutPlan(), 0, "wait", id="report-before-stage-waits"
        ),
        pytest.param([kiosk("a")], RolloutPlan(min_reports=2), 0, "wait", id="too-few-reports-wait"),
        pytest.param([kiosk("a")], RolloutPlan(min_soak_s=600), 0, "wait", id="not-soaked-waits"),
        pytest.param([], RolloutPlan(min_reports=0), 0, "advance", id="no-report-needed"),
    ],
)
def test_the_controller_widens_only_healthy_soaked_stages(
    kiosks: list[KioskHealth], plan: RolloutPlan, stage: int, action: str
) -> None:
    verdict = judge(plan, stage, START, NOW, kiosks)
    assert verdict.action == action, verdict.reason


def test_a_halt_says_why() -> None:
    verdict = judge(RolloutPlan(), 0, START, NOW, [kiosk("a", failed=True), kiosk("b")])
    assert verdict.reason.startswith("failure rate 1/2 = 50% over 20% at stage 5% (a: x)")
    soak = judge(RolloutPlan(min_soak_s=600), 0, START, NOW + timedelta(seconds=1), [kiosk("a")])
    assert soak.reason == "stage soaked 301 of 600 s"


def test_by_default_a_stage_outlasts_the_agents_health_window() -> None:
    # A canary reports the new version healthy as soon as it activates, before its health window ends.
    just_now = datetime.fromisoformat(START) + timedelta(seconds=30)
    assert judge(RolloutPlan(), 0, START, just_now, [kiosk("a")]).action == "wait"
    assert RolloutPlan().min_soak_s >= 60  # the agent's default health_window_s


def test_kiosk_health_reads_rejections_and_unhealthy_reports_from_the_fleet() -> None:
    def report(kiosk_id: str, nlu: str, **extra: object) -> dict[str, object]:
        base = {"kiosk_id": kiosk_id, "branch": "sh01", "versions": {"nlu": nlu, "policy": "p1"}, "healthy": True}
        return base | {"last_error": "", "rejected": {}, "last_seen": START} | extra

    fleet = [
        report("ok", "2.0"),
        report("old", "1.0"),
        report("refused", "1.0", rejected={"nlu": ["2.0"]}),
        report("policy-refused", "1.0", rejected={"policy": ["p2"]}),
        report("sick", "2.0", healthy=False, last_error="disk full"),
        report("sick-old", "1.0", healthy=False, last_error="offline"),
    ]
    rows = {k.kiosk_id: k for k in kiosk_health(fleet, {"nlu": "2.0", "policy": "p2"}, "nlu")}
    assert [k for k, v in rows.items() if v.failed] == ["refused", "policy-refused", "sick"]
    assert [k for k, v in rows.items() if v.on_new] == ["ok", "sick"]
    assert rows["refused"].detail == "rejected or rolled back nlu 2.0"
    assert rows["sick"].detail == "unhealthy: disk full"


@pytest.mark.parametrize(
    "stages", [(), (5, 25), (25, 5, 100), (5, 5, 100), (-1, 100), (5, 101)], ids=lambda s: ",".join(map(str, s))
)
def test_a_plan_must_widen_to_the_whole_fleet(stages: tuple[int, ...]) -> None:
    with pytest.raises(ValidationError):
        RolloutPlan(stages=stages)


def test_a_cohort_shares_one_bucket_so_companions_travel_together() -> None:
    kiosks = [f"kiosk-{n}" for n in range(400)]
    policy = BundleTarget(name="policy", kind="policy", version="2", percent=25, cohort="nlu")
    nlu = BundleTarget(name="nlu", kind="nlu", version="2", percent=25, cohort="nlu")
    got_policy = {k for k in kiosks if is_targeted(policy, kiosk_id=k, branch="", channel="stable")}
    got_nlu = {k for k in kiosks if is_targeted(nlu, kiosk_id=k, branch="", channel="stable")}
    assert got_policy == got_nlu
    assert 60 < len(got_nlu) < 140
    alone = BundleTarget(name="policy", kind="policy", version="2", percent=25)
    assert {k for k in kiosks if is_targeted(alone, kiosk_id=k, branch="", channel="stable")} != got_nlu
    assert all(rollout_bucket(k, "nlu") < 25 for k in got_policy)


def test_a_revoked_version_is_never_targeted() -> None:
    target = BundleTarget(name="nlu", kind="nlu", version="2", branches=("sh01",), revoked=("2",))
    assert not is_targeted(target, kiosk_id="k", branch="sh01", channel="stable")
    restored = BundleTarget(name="nlu", kind="nlu", version="1", revoked=("2",))
    assert is_targeted(restored, kiosk_id="k", branch="", channel="stable")
