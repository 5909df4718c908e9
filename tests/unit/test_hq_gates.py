"""Gate logic of a retrained NLU bundle, on crafted scores."""

from __future__ import annotations

import pytest

from edge_models.build.gates import GateLimits, Scored, evaluate_gates, format_table, passed, rates, recall


def block(truth: str, lang: str, n: int, right: int, decided_wrong: int, *, pred_wrong: str = "fees") -> list[Scored]:
    """``n`` rows of ``truth``: ``right`` decided and right, ``decided_wrong`` decided and wrong, the rest undecided."""
    rows = [Scored(truth, lang, truth, True) for _ in range(right)]
    rows += [Scored(truth, lang, pred_wrong, True) for _ in range(decided_wrong)]
    rows += [Scored(truth, lang, pred_wrong, False) for _ in range(n - right - decided_wrong)]
    return rows


UTILITY = "dev utility (cost 4)"
BASE = block("card_lost", "zh", 50, 45, 1) + block("transfer", "en", 50, 40, 2) + block("greeting", "en", 5, 5, 0)


def test_rates_and_recall() -> None:
    assert rates(block("x", "zh", 10, 7, 1)) == (0.7, 0.1)
    assert recall(block("x", "zh", 10, 7, 1), "x") == (0.7, 10)
    assert recall([], "x") == (0.0, 0)


def test_an_equal_candidate_passes_every_gate() -> None:
    rows = evaluate_gates(BASE, BASE, golden_cases=4)
    assert passed(rows)
    assert [r.gate for r in rows][:4] == ["golden cases", "dev right", "dev confident error", UTILITY]
    assert {r.subject for r in rows if r.gate == UTILITY} == {"all", "zh", "en"}


def test_fewer_right_answers_for_fewer_confident_errors_at_equal_utility_pass() -> None:
    # A recalibrated threshold: card_lost 45 right + 1 confident error -> 41 right + 0 (utility 0.82 both ways).
    # The best guesses do not change (recall 0.90 both ways); only what is decided does.
    unsure_right = [Scored("card_lost", "zh", "card_lost", False)] * 4
    candidate = block("card_lost", "zh", 41, 41, 0) + unsure_right + block("card_lost", "zh", 5, 0, 0) + BASE[50:]
    rows = evaluate_gates(BASE, candidate)
    right = next(r for r in rows if r.gate == "dev right" and r.subject == "zh")
    assert (right.baseline, right.candidate, right.ok) == (0.9, 0.82, True)
    assert passed(rows)


@pytest.mark.parametrize(
    ("candidate", "golden", "failing"),
    [
        # card_lost recall 0.90 -> 0.80: a drop of 0.10 > 0.05; zh utility 0.82 -> 0.72 too.
        (
            block("card_lost", "zh", 50, 40, 1) + BASE[50:],
            (),
            {("intent recall", "card_lost"), (UTILITY, "zh"), (UTILITY, "all")},
        ),
        # confident errors of en rise from 2/55 to 5/55 (> 0.01), recall of transfer 0.80 -> 0.74 (> 0.05).
        (
            BASE[:50] + block("transfer", "en", 50, 37, 5) + BASE[100:],
            (),
            {
                (UTILITY, "en"),
                (UTILITY, "all"),
                ("dev confident error", "en"),
                ("dev confident error", "all"),
                ("intent recall", "transfer"),
            },
        ),
        (BASE, ("'你好': expected greeting, got smalltalk",), {("golden cases", "1 case(s)")}),
    ],
    ids=["recall-drop", "confident-errors-rise", "golden-failure"],
)
def test_a_worse_candidate_fails_the_gates_it_breaks(
    candidate: list[Scored], golden: tuple[str, ...], failing: set[tuple[str, str]]
) -> None:
    rows = evaluate_gates(BASE, candidate, golden_failures=golden, golden_cases=1)
    assert {(r.gate, r.subject) for r in rows if not r.ok} == failing
    assert not passed(rows)
    assert "FAIL" in format_table(rows)


def test_a_drop_within_the_tolerance_passes_and_small_intents_are_not_gated() -> None:
    # card_lost recall 0.90 -> 0.86 (drop 0.04 <= 0.05); zh right 0.90 -> 0.86 (> 0.01 -> fails) unless tolerance 0.05.
    candidate = block("card_lost", "zh", 50, 43, 1) + BASE[50:100] + block("greeting", "en", 5, 3, 0)
    rows = evaluate_gates(BASE, candidate, limits=GateLimits(tolerance=0.05))
    greeting = next(r for r in rows if r.subject == "greeting")
    assert (greeting.baseline, greeting.candidate, greeting.ok, greeting.limit) == (1.0, 0.6, True, "n=5, not gated")
    assert passed(rows)
    assert not passed(evaluate_gates(BASE, candidate, limits=GateLimits(tolerance=0.01)))


def test_an_added_intent_must_reach_its_recall_on_its_held_examples() -> None:
    good = {"digital_rmb_wallet": block("digital_rmb_wallet", "zh", 10, 6, 0)}
    bad = {"digital_rmb_wallet": block("digital_rmb_wallet", "zh", 10, 4, 0)}
    assert passed(evaluate_gates(BASE, BASE, new_intents=good))
    rows = evaluate_gates(BASE, BASE, new_intents=bad)
    assert [(r.gate, r.subject, r.candidate) for r in rows if not r.ok] == [
        ("new intent recall", "digital_rmb_wallet (n=10)", 0.4)
    ]
    assert not passed(evaluate_gates(BASE, BASE, new_intents={"digital_rmb_wallet": []}))


def test_scores_of_different_examples_are_refused() -> None:
    with pytest.raises(ValueError, match="same dev examples"):
        evaluate_gates(BASE, BASE[:-1])
    with pytest.raises(ValueError, match="same dev examples"):
        evaluate_gates(BASE, [*BASE[:-1], Scored("fees", "en", "fees", True)])
