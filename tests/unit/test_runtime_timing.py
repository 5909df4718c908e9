"""Pure runtime timing: restart back-off, branch hours, screen mode; the supervisor with injected sleep."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest

from kiosk.runtime import Backoff, Supervisor, is_open, screen_mode

HOURS = ("09:00-17:00",) * 5 + ("09:30-16:00", None)


@pytest.mark.parametrize(
    ("crashes", "delay"), [(1, 0.5), (2, 1.0), (3, 2.0), (10, 30.0)], ids=["first", "second", "third", "capped"]
)
def test_backoff_grows_and_caps(crashes: int, delay: float) -> None:
    assert Backoff().delay(crashes) == delay


def test_backoff_counts_again_after_a_stable_run() -> None:
    backoff = Backoff(stable_s=60.0)
    assert backoff.crashes_after(4, ran_s=5.0) == 5
    assert backoff.crashes_after(4, ran_s=61.0) == 1
    with pytest.raises(ValueError, match="starts at 1"):
        backoff.delay(0)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 11, 27, 10, 30), True),  # Friday morning
        (datetime(2026, 11, 27, 17, 0), False),  # Friday at closing time
        (datetime(2026, 11, 28, 9, 0), False),  # Saturday before 9:30
        (datetime(2026, 11, 28, 15, 59), True),
        (datetime(2026, 11, 29, 12, 0), False),  # Sunday: closed
    ],
    ids=["fri-open", "fri-closing", "sat-early", "sat-open", "sunday"],
)
def test_branch_hours(now: datetime, expected: bool) -> None:
    assert is_open(HOURS, now) is expected


def test_screen_modes() -> None:
    assert screen_mode(session_active=True, idle_s=999, attract_after_s=30, open_now=False) == "serving"
    assert screen_mode(session_active=False, idle_s=5, attract_after_s=30, open_now=True) == "serving"
    assert screen_mode(session_active=False, idle_s=31, attract_after_s=30, open_now=True) == "attract"
    assert screen_mode(session_active=False, idle_s=1, attract_after_s=30, open_now=False) == "closed"
    with pytest.raises(ValueError, match="seven days"):
        is_open(("09:00-17:00",), datetime(2026, 1, 1))


def test_supervisor_restarts_with_backoff_then_gives_up() -> None:
    slept: list[float] = []
    runs: list[int] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    async def crashing() -> None:
        runs.append(1)
        raise RuntimeError("camera unplugged")

    async def scenario() -> Supervisor:
        sup = Supervisor(Backoff(base_s=1.0), max_restarts=3, sleep=fake_sleep, clock=lambda: 0.0)
        sup.spawn("camera", crashing)
        await asyncio.wait_for(asyncio.gather(*sup._tasks.values()), timeout=5)
        return sup

    sup = asyncio.run(scenario())
    assert len(runs) == 4
    assert slept == [1.0, 2.0, 4.0]
    status = sup.status["camera"]
    assert (status.state, status.restarts) == ("failed", 3)
    assert "camera unplugged" in status.last_error
    assert sup.problems() == ["camera: failed (RuntimeError: camera unplugged)"]


def test_supervisor_recovers_and_stops() -> None:
    attempts: list[int] = []

    async def flaky() -> None:
        attempts.append(1)
        if len(attempts) < 2:
            raise OSError("printer busy")
        await asyncio.sleep(3600)

    async def no_sleep(_: float) -> None:
        return None

    async def scenario() -> Supervisor:
        sup = Supervisor(sleep=no_sleep)
        sup.spawn("printer", flaky)
        for _ in range(100):
            await asyncio.sleep(0)
        assert sup.status["printer"].state == "running"
        with pytest.raises(ValueError, match="already running"):
            sup.spawn("printer", flaky)
        await sup.stop(timeout_s=5)
        return sup

    sup = asyncio.run(scenario())
    assert len(attempts) == 2
    assert sup.status["printer"].state == "stopped"
    assert sup.status["printer"].restarts == 1


def test_supervisor_snapshot_shows_the_back_off_while_waiting() -> None:
    clock = [100.0]
    release = asyncio.Event()

    async def held_sleep(_: float) -> None:
        await release.wait()

    async def crashing() -> None:
        raise OSError("printer cable pulled")

    async def scenario() -> tuple[dict[str, object], dict[str, object]]:
        sup = Supervisor(Backoff(base_s=8.0), max_restarts=3, sleep=held_sleep, clock=lambda: clock[0])
        sup.spawn("printer", crashing)
        for _ in range(100):
            await asyncio.sleep(0)
        clock[0] += 3.0  # three seconds into the eight-second wait
        waiting = sup.snapshot()["printer"]
        release.set()
        await asyncio.wait_for(asyncio.gather(*sup._tasks.values()), timeout=5)
        return waiting, sup.snapshot()["printer"]

    waiting, done = run_async(scenario())
    assert waiting == {
        "state": "restarting",
        "restarts": 1,
        "last_error": "OSError: printer cable pulled",
        "crashes_in_a_row": 1,
        "backoff_s": 8.0,
        "retry_in_s": 5.0,
        "max_restarts": 3,
    }
    assert (done["state"], done["restarts"], done["retry_in_s"]) == ("failed", 3, None)


def run_async(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout=30))
