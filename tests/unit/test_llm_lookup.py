"""Prompt lookup's drafting: the tokens that followed the latest earlier occurrence of the last few tokens."""

from __future__ import annotations

from edge_models.llm_lookup import lookup


def test_the_tail_is_found_and_what_followed_it_is_drafted() -> None:
    history = [1, 2, 3, 4, 5, 6, 9, 2, 3]
    assert lookup(history, 3) == [4, 5, 6]
    assert lookup(history, 1) == [4]


def test_the_latest_earlier_occurrence_wins() -> None:
    history = [7, 8, 1, 7, 8, 2, 0, 7, 8]
    assert lookup(history, 2) == [2, 0]


def test_a_longer_tail_is_preferred_to_a_shorter_one() -> None:
    history = [5, 3, 4, 1, 6, 3, 4, 2, 5, 3, 4]  # 3,4 last followed by 2; 5,3,4 followed by 1
    assert lookup(history, 1) == [1]


def test_a_single_token_tail_drafts_nothing() -> None:
    assert lookup([4, 1, 2, 9, 4], 3) == []  # only "4" repeats: too weak a cue


def test_nothing_is_drafted_without_room_or_history() -> None:
    assert lookup([1, 2, 3, 1, 2], 0) == []
    assert lookup([], 4) == []
    assert lookup([1, 2], 4) == []
    assert lookup([1, 2, 1, 2], 4) == [1, 2]  # the tail itself is not an earlier occurrence
