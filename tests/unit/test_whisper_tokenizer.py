"""whisper's packaged tokenizer lacks its first BPE merge: the merges are restored from the vocabulary."""

from __future__ import annotations

from edge_models.asr.whisper_engine import repaired_merges


def test_a_lost_two_character_merge_is_restored_at_its_place() -> None:
    vocab = {"Ġ": 220, "t": 83, "a": 64, "Ġt": 256, "Ġa": 257, "Ġta": 258}
    assert repaired_merges(vocab, ["Ġ a", "Ġt a"]) == ["Ġ t", "Ġ a", "Ġt a"]
    assert repaired_merges(vocab, [["Ġ", "a"], ["Ġt", "a"]]) == [["Ġ", "t"], ["Ġ", "a"], ["Ġt", "a"]]


def test_complete_merges_are_left_alone() -> None:
    vocab = {"Ġt": 256, "Ġa": 257}
    assert repaired_merges(vocab, ["Ġ t", "Ġ a"]) is None
    assert repaired_merges({}, []) is None
