"""The recogniser's scores and the sound of what was heard combined into a pick (a table stands in for whisper)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest

from edge_models.asr.choice_scores import (
    NONE,
    SCORE_THRESHOLD,
    combine,
    names_to_score,
    pick_by_score,
    posteriors,
)
from edge_models.asr.closed_vocab import Choice
from edge_models.speech import Transcript
from kiosk.policy import Policy
from kiosk.voice.choices import Offer, pick, voice_utterance

CURRENCIES = [
    Choice("slot:exchange_rate:USD", ("美元 USD", "美元", "US dollar", "美金", "usd")),
    Choice("slot:exchange_rate:EUR", ("欧元 EUR", "欧元", "euro", "eur")),
    Choice("slot:exchange_rate:JPY", ("日元 JPY", "日元", "Japanese yen", "日币")),
]


class TableScorer:
    """Scores texts from a table (unknown texts score ``default``); remembers every call."""

    def __init__(self, table: dict[str, float], default: float = -6.0) -> None:
        self.table = table
        self.default = default
        self.calls: list[list[str]] = []

    def __call__(self, texts: Sequence[str]) -> list[float]:
        self.calls.append(list(texts))
        return [self.table.get(t, self.default) for t in texts]


def test_names_to_score_keep_the_language_and_the_first_names() -> None:
    assert names_to_score(CURRENCIES[:1], "zh") == [
        ("slot:exchange_rate:USD", "美元"),
        ("slot:exchange_rate:USD", "美金"),
    ]
    assert names_to_score(CURRENCIES[:1], "zh", per_choice=1) == [("slot:exchange_rate:USD", "美元")]
    assert names_to_score(CURRENCIES[:1], "en") == [
        ("slot:exchange_rate:USD", "US dollar"),
        ("slot:exchange_rate:USD", "usd"),
    ]


def test_a_label_that_is_a_name_plus_its_code_is_not_scored() -> None:
    labelled = [Choice("usd", ("美元 USD", "美元", "US dollar (USD)", "US dollar", "美金"))]
    assert [name for _, name in names_to_score(labelled, "zh")] == ["美元", "美金"]
    assert [name for _, name in names_to_score(labelled, "en")] == ["US dollar"]
    kept = [Choice("atm", ("ATM 和自助设备", "和自助设备", "Toilets and Wi-Fi", "Toilets and"))]
    assert [name for _, name in names_to_score(kept, "zh")] == ["ATM 和自助设备", "和自助设备"]  # ATM leads: said
    assert [name for _, name in names_to_score(kept, "en")] == ["Toilets and Wi-Fi", "Toilets and"]


def test_posteriors_are_a_softmax() -> None:
    found = posteriors({"a": 0.0, "b": -math.log(3)})
    assert found["a"] == pytest.approx(0.75)
    assert sum(found.values()) == pytest.approx(1.0)
    assert posteriors({"a": -math.inf, "b": -math.inf}) == {"a": 0.5, "b": 0.5}
    assert posteriors({}) == {}


def test_none_of_these_wins_when_the_free_decoding_explains_the_audio_far_better() -> None:
    found = combine({"a": -4.0, "b": -4.5}, {}, free=-0.3)
    assert max(found, key=found.__getitem__) == NONE


def test_sound_breaks_a_tie_of_the_recogniser_scores() -> None:
    found = combine({"a": -2.0, "b": -2.0}, {"a": 0.9, "b": 0.1}, free=-2.0)
    assert found["a"] > found["b"]
    assert found["a"] > found[NONE]


def test_a_name_whisper_could_not_write_is_picked_by_its_score() -> None:
    scorer = TableScorer({"欧元": -1.2, "only in": -1.5})
    found = pick_by_score("only in", CURRENCIES, "zh", scorer)
    assert found is not None
    assert (found.key, found.phrase) == ("slot:exchange_rate:EUR", "欧元")
    assert found.confidence >= SCORE_THRESHOLD
    assert scorer.calls == [["美元", "美金", "欧元", "日元", "日币", "only in"]]


def test_two_choices_scored_alike_are_no_pick() -> None:
    scorer = TableScorer({"欧元": -2.0, "日元": -2.1, "嗯": -2.5})
    assert pick_by_score("嗯", CURRENCIES, "zh", scorer) is None


def test_an_answer_off_the_list_is_no_pick() -> None:
    scorer = TableScorer({"今天天气不错": -0.4, "欧元": -3.5})
    assert pick_by_score("今天天气不错", CURRENCIES, "zh", scorer) is None


def test_a_scorer_that_answers_the_wrong_number_of_scores_is_an_error() -> None:
    with pytest.raises(ValueError, match="scores for"):
        pick_by_score("x", CURRENCIES, "en", lambda texts: [0.0])


def _rates_offer(policy: Policy) -> Offer:
    buttons = tuple((f"slot:exchange_rate:{c.code}", c.name.zh) for c in policy.rates.exchange.currencies)
    return Offer(buttons, "ask")


def test_the_sound_match_comes_first_and_the_scorer_is_not_asked(policy: Policy) -> None:
    scorer = TableScorer({})
    found = pick(policy, _rates_offer(policy), "没完", lang="zh", scorer=scorer)
    assert found is not None
    assert found.key == "slot:exchange_rate:USD"
    assert scorer.calls == []


def test_the_scorer_decides_when_the_sound_names_nothing(policy: Policy) -> None:
    heard = Transcript(text="only in in in", lang="zh", confidence=0.3)
    scorer = TableScorer({"欧元": -1.0, "only in in in": -1.4})
    utterance, found = voice_utterance(heard, policy, _rates_offer(policy), scorer=scorer)
    assert found is not None
    assert found.key == "slot:exchange_rate:EUR"
    assert (utterance.source, utterance.button, utterance.text) == ("button", found.key, "only in in in")
    assert len(scorer.calls) == 1
    open_text, none = voice_utterance(heard, policy, _rates_offer(policy), scorer=scorer, closed=False)
    assert none is None
    assert open_text.source == "voice"
    assert pick(policy, _rates_offer(policy), "only in in in", lang="", scorer=scorer) is None  # language unknown


def test_a_sentence_naming_a_choice_as_written_stays_open_text_without_scoring(policy: Policy) -> None:
    scorer = TableScorer({"美元": 0.0})
    assert pick(policy, _rates_offer(policy), "美元和欧元哪个汇率更高一点呢请告诉我", lang="zh", scorer=scorer) is None
    assert scorer.calls == []


def test_no_scoring_when_no_choice_was_offered(policy: Policy) -> None:
    scorer = TableScorer({"欧元": 0.0})
    assert pick(policy, Offer(), "only in", lang="zh", scorer=scorer) is None
    assert pick(policy, Offer(), "  ", lang="zh", scorer=scorer) is None
    assert scorer.calls == []


def test_an_empty_decode_after_a_question_is_scored(policy: Policy) -> None:
    scorer = TableScorer({"欧元": 0.0})
    found = pick(policy, _rates_offer(policy), "  ", lang="zh", scorer=scorer)
    assert found is not None
    assert found.key == "slot:exchange_rate:EUR"
    assert scorer.calls[0][-1] == ""
    assert pick(policy, _rates_offer(policy), "", lang="zh") is None  # no scorer: nothing to go on


def test_an_empty_decode_is_still_weighed_against_the_choices() -> None:
    scorer = TableScorer({"欧元": -1.0, "": -2.5})  # "": whisper's own free decoding, which wrote nothing
    found = pick_by_score("", CURRENCIES, "zh", scorer)
    assert found is not None
    assert found.key == "slot:exchange_rate:EUR"
    assert found.similarity == 0.0  # nothing heard: no sound evidence
    assert scorer.calls == [["美元", "美金", "欧元", "日元", "日币", ""]]


def test_an_empty_decode_whisper_is_sure_of_picks_nothing() -> None:
    scorer = TableScorer({"欧元": -2.0, "": 0.0})  # whisper ends at once: "none of these" at -NONE_GAP
    assert pick_by_score("  ", CURRENCIES, "zh", scorer) is None
    assert len(scorer.calls) == 1


def test_an_empty_decode_with_no_names_to_score_is_no_call() -> None:
    scorer = TableScorer({"欧元": -1.0, "": -2.5})
    assert pick_by_score("", [], "zh", scorer) is None
    assert scorer.calls == []


def test_the_recogniser_other_hypotheses_are_matched_by_sound_before_the_scores(policy: Policy) -> None:
    asked: list[int] = []

    def alternatives() -> list[str]:
        asked.append(1)
        return ["没人", "美元"]

    scorer = TableScorer({"欧元": 0.0})
    found = pick(policy, _rates_offer(policy), "美人", lang="zh", scorer=scorer, alternatives=alternatives)
    assert found is not None
    assert found.key == "slot:exchange_rate:USD"
    assert scorer.calls == []  # a hypothesis named it: no scoring
    assert pick(policy, _rates_offer(policy), "欧元", lang="zh", alternatives=alternatives) is not None
    assert asked == [1]  # the heard text named a choice: the n-best was not asked


def test_hypotheses_that_name_nothing_leave_the_scores_to_decide(policy: Policy) -> None:
    scorer = TableScorer({"欧元": -1.0, "美人": -2.5})
    found = pick(policy, _rates_offer(policy), "美人", lang="zh", scorer=scorer, alternatives=lambda: ["没人", "没用"])
    assert found is not None
    assert found.key == "slot:exchange_rate:EUR"
    assert len(scorer.calls) == 1
