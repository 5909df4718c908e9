"""The console's pure parts: KPI sums and rates, the fairness view's gaps, online/offline kiosks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sync.hq.console.fleetview import kiosk_rows, silent_for, summary
from sync.hq.console.kpis import TotalsCache, fairness, kpi_rows

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def total(branch: str, lang: str, intent: str, turns: int, decided: int, **more: Any) -> dict[str, Any]:
    """A totals_query row; without ``split`` the kiosk reported neither risk alerts nor elderly mode."""
    row: dict[str, Any] = {"branch": branch, "lang": lang, "intent": intent, "turns": turns, "decided": decided}
    row |= {"clarified": 0, "handed_off": 0, "risk_alerts": None, "risk_turns": 0}
    row |= {f"elderly_{n}": None for n in ("turns", "decided", "clarified", "handed_off", "risk_alerts")}
    row |= {f"mode_{n}": 0 for n in ("turns", "decided", "clarified", "handed_off", "risk_alerts")}
    return row | more


def test_no_turns_means_no_rate_not_zero() -> None:
    (row,) = kpi_rows([total("b", "zh", "x", 0, 0)], "branch")
    assert (row.turns, row.decided_rate, row.handoff_rate, row.risk_alert_rate) == (0, None, None, None)
    view = fairness([])
    assert [r.group for r in view.languages] == ["zh", "en"]
    assert (view.language_gap_pp, view.mode_gap_pp, view.flagged) == (None, None, ())


def test_groups_sum_and_sort_busiest_first() -> None:
    rows = [total("a", "zh", "x", 2, 1), total("b", "en", "x", 5, 5), total("a", "en", "y", 4, 2)]
    assert [(r.group, r.turns, r.decided) for r in kpi_rows(rows, "branch")] == [("a", 6, 3), ("b", 5, 5)]
    assert [(r.group, r.turns) for r in kpi_rows(rows, "intent")] == [("x", 7), ("y", 4)]
    assert [(r.group, r.decided_rate) for r in kpi_rows(rows, "lang")] == [("en", pytest.approx(7 / 9)), ("zh", 0.5)]


def test_risk_alerts_count_only_kiosks_that_report_them() -> None:
    rows = [total("a", "zh", "x", 10, 5, risk_alerts=2, risk_turns=10), total("a", "zh", "x", 30, 5)]
    (row,) = kpi_rows(rows, "branch")
    assert (row.turns, row.risk_alerts, row.risk_turns, row.risk_alert_rate) == (40, 2, 10, 0.2)


@pytest.mark.parametrize(
    ("zh", "en", "threshold", "flagged"),
    [((9, 10), (8, 10), 10.0, ()), ((9, 10), (7, 10), 10.0, ("zh vs en",)), ((5, 10), (7, 10), 10.0, ("zh vs en",))],
    ids=["10pp-not-over", "20pp-over", "minus-20pp-over"],
)
def test_language_gap_is_flagged_over_the_threshold(
    zh: tuple[int, int], en: tuple[int, int], threshold: float, flagged: tuple[str, ...]
) -> None:
    rows = [total("a", "zh", "x", zh[1], zh[0]), total("a", "en", "x", en[1], en[0])]
    view = fairness(rows, threshold)
    assert view.flagged == flagged
    assert view.mode_gap_pp is None  # nobody reported the elderly split
    assert view.not_reported_turns == 20


def test_elderly_split_and_other_languages() -> None:
    split = {"mode_turns": 10, "mode_decided": 8, "elderly_turns": 4, "elderly_decided": 2, "elderly_clarified": 0}
    split |= {"elderly_handed_off": 0, "elderly_risk_alerts": 0}
    view = fairness([total("a", "zh", "x", 10, 8, **split), total("a", "yue", "x", 3, 3)])
    assert [r.group for r in view.languages] == ["zh", "en", "yue"]
    assert [(r.group, r.turns, r.decided) for r in view.modes] == [("elderly mode", 4, 2), ("standard", 6, 6)]
    assert view.mode_gap_pp == -50.0
    assert view.not_reported_turns == 3


def report(kiosk_id: str, last_seen: str, healthy: bool = True, **versions: str) -> dict[str, Any]:
    return {
        "kiosk_id": kiosk_id,
        "branch": "b",
        "versions": versions,
        "healthy": healthy,
        "last_error": "",
        "rejected": {},
        "last_seen": last_seen,
    }


def test_kiosks_go_offline_after_the_threshold_and_bad_times_count_as_offline() -> None:
    rows = kiosk_rows(
        [
            report("fresh", "2026-12-05T11:50:00+00:00", nlu="2"),
            report("edge", "2026-12-05T11:45:00+00:00", healthy=False, nlu="1"),
            report("silent", "2026-12-05T11:44:59+00:00", nlu="1"),
            report("garbled", "yesterday"),
            report("naive", "2026-12-05T11:59:00"),
        ],
        NOW,
        offline_after_s=900,
    )
    assert {r.kiosk_id: r.online for r in rows} == {
        "fresh": True,
        "edge": True,
        "silent": False,
        "garbled": False,
        "naive": False,
    }
    counts = summary(rows)
    assert (counts.kiosks, counts.online, counts.offline, counts.unhealthy) == (5, 2, 3, 1)
    assert counts.versions == {"nlu": {"1": 2, "2": 1}}


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "?"), (0.4, "0 s"), (59, "59 s"), (60, "1 min"), (3599, "59 min"), (3660, "1 h 1 min"), (90000, "1 d 1 h")],
)
def test_silent_for_reads_well(seconds: float | None, text: str) -> None:
    assert silent_for(seconds) == text


def test_totals_are_reused_within_the_ttl_and_reread_after() -> None:
    reads: list[str] = []

    def load(name: str) -> Any:
        def read() -> list[dict[str, Any]]:
            reads.append(name)
            return [{"n": len(reads)}]

        return read

    cache = TotalsCache(ttl_s=300, max_ranges=2)
    assert cache.get("a", "b", 1000.0, load("ab")) == (1000.0, [{"n": 1}])
    assert cache.get("a", "b", 1299.0, load("ab")) == (1000.0, [{"n": 1}])  # reused
    assert cache.get("a", "b", 1300.0, load("ab")) == (1300.0, [{"n": 2}])  # stale: read again
    assert cache.get("a", "b", 999.0, load("ab"))[0] == 999.0  # the clock went back: read again
    cache.get("c", "d", 1000.0, load("cd"))
    cache.get("e", "f", 1000.0, load("ef"))  # a third range pushes the oldest out
    cache.get("a", "b", 1000.0, load("ab"))
    assert reads == ["ab", "ab", "ab", "cd", "ef", "ab"]
    assert TotalsCache(ttl_s=0).get("a", "b", 5.0, load("x")) == (5.0, [{"n": 7}])  # 0: never reused
