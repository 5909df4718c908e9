"""Speech recognition first, the LLM's threads follow what is left of the CPU."""

from __future__ import annotations

import threading
import time

import pytest

from edge_models.cpu import (
    LowPriorityWorker,
    OwnLoad,
    llm_threads,
    lower_thread_priority,
    process_threads,
    prompt_chunk,
    speech_active,
    speech_priority,
    thread_nice,
    wait_for_speech,
)


def test_the_llm_takes_what_the_load_leaves() -> None:
    assert llm_threads(2, cores=2, load=0.1) == 2
    assert llm_threads(2, cores=2, load=1.2) == 1
    assert llm_threads(2, cores=2, load=7.0) == 1
    assert llm_threads(4, cores=8, load=1.0) == 4


def test_the_llm_does_not_count_its_own_threads_as_load() -> None:
    now = [0.0]
    own = OwnLoad(clock=lambda: now[0])
    own.running(2)
    now[0] = 600.0  # ten minutes of generating on both cores: the load average is 2, all of it the LLM's
    assert own.running(2) == pytest.approx(2.0, abs=1e-3)
    assert llm_threads(2, cores=2, load=2.0, own=own.value) == 2
    assert llm_threads(2, cores=2, load=2.0) == 1  # counted as load, it would starve itself
    assert llm_threads(2, cores=2, load=3.0, own=own.value) == 1  # another job on a core: it gives one up
    own.running(0)
    now[0] = 900.0  # idle for five minutes: its share has decayed
    assert own.running(0) < 0.02
    assert llm_threads(2, cores=2, load=1.5, own=own.value) == 1


def test_speech_recognition_drops_the_llm_to_one_thread() -> None:
    assert not speech_active()
    with speech_priority():
        assert speech_active()
        with speech_priority():
            assert llm_threads(2, cores=2, load=0.0) == 1
        assert speech_active()
    assert not speech_active()
    assert llm_threads(2, cores=2, load=0.0) == 2


def test_a_background_wait_ends_with_the_last_decode_or_at_its_deadline() -> None:
    assert wait_for_speech(time.monotonic())  # nothing decoded: no wait
    with speech_priority():
        assert not wait_for_speech(time.monotonic() + 0.05)  # still decoding at the deadline
        ended = threading.Event()

        def wait() -> None:
            if wait_for_speech(time.monotonic() + 60):
                ended.set()

        waiter = threading.Thread(target=wait)
        waiter.start()
        assert not ended.wait(0.05)
    waiter.join(timeout=60)
    assert ended.is_set()


def test_the_worker_runs_calls_on_its_own_lower_priority_thread() -> None:
    caller = threading.get_native_id()
    mine = thread_nice(caller)
    worker = LowPriorityWorker(nice=mine + 3, name="test-llm")
    try:
        tid, nice = worker.run(lambda: (threading.get_native_id(), thread_nice(threading.get_native_id())))
        assert tid != caller
        assert (worker.tid, worker.nice) == (tid, mine + 3) == (tid, nice)
        assert thread_nice(caller) == mine  # the caller keeps its priority
        assert process_threads()[tid] == mine + 3
        with pytest.raises(ZeroDivisionError):  # a call's error reaches the caller
            worker.run(lambda: 1 // 0)
        assert worker.run(threading.get_native_id) == tid  # one thread for every call
    finally:
        worker.close()


def test_a_lower_priority_is_never_raised_back() -> None:
    worker = LowPriorityWorker(nice=thread_nice(threading.get_native_id()) + 2, name="test-llm")
    try:
        before = worker.run(lambda: thread_nice(threading.get_native_id()))
        assert worker.run(lambda: lower_thread_priority(0)) == before
    finally:
        worker.close()


def test_a_dropped_worker_ends_its_thread() -> None:
    import gc

    worker = LowPriorityWorker(nice=thread_nice(threading.get_native_id()) + 1, name="test-llm-dropped")
    tid = worker.run(threading.get_native_id)
    del worker
    gc.collect()
    for _ in range(500):  # the thread wakes up to a closed queue and ends (at most a few ms)
        if tid not in process_threads():
            break
        time.sleep(0.01)
    assert tid not in process_threads()


def test_a_prompt_that_would_end_past_the_budget_is_cut_at_once() -> None:
    assert prompt_chunk(300, None, 3.0) == 8  # the first chunk measures the speed
    assert prompt_chunk(5, None, 3.0) == 5
    assert prompt_chunk(300, 0.005, 3.0) == 32  # 1.5 s left to read: go on in full chunks
    assert prompt_chunk(20, 0.005, 3.0) == 20
    assert prompt_chunk(300, 0.015, 3.0) == 32  # 4.5 s at the first chunk's speed: larger chunks may make it
    assert prompt_chunk(15, 0.1, 1.0) == 10  # no chunk runs past the budget at the speed measured
    assert prompt_chunk(5, 0.125, 0.5) == 4
    assert prompt_chunk(1, 0.1, 0.05) == 1  # at least one token
    assert prompt_chunk(300, 0.03, 3.0) == 0  # 9 s to read with 3 s left: cut now, not at 9 s
    assert prompt_chunk(10, 0.5, 2.0) == 0
