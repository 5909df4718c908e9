"""Speech recognition first, the LLM's threads follow what is left of the CPU."""

from __future__ import annotations

from edge_models.cpu import llm_threads, speech_active, speech_priority


def test_the_llm_takes_what_the_load_leaves() -> None:
    assert llm_threads(2, cores=2, load=0.1) == 2
    assert llm_threads(2, cores=2, load=1.2) == 1
    assert llm_threads(2, cores=2, load=7.0) == 1
    assert llm_threads(4, cores=8, load=1.0) == 4


def test_speech_recognition_drops_the_llm_to_one_thread() -> None:
    assert not speech_active()
    with speech_priority():
        assert speech_active()
        with speech_priority():
            assert llm_threads(2, cores=2, load=0.0) == 1
        assert speech_active()
    assert not speech_active()
    assert llm_threads(2, cores=2, load=0.0) == 2
