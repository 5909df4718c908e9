"""The circuit breaker, fed time by the test."""

from __future__ import annotations

from kiosk.dialogue.breaker import CircuitBreaker


def test_opens_after_consecutive_failures_and_recovers() -> None:
    breaker = CircuitBreaker(failures=2, cooldown_s=10)
    assert breaker.allow(0)
    breaker.failure(0)
    assert breaker.state(0) == "closed"
    breaker.failure(1)
    assert breaker.state(1) == "open"
    assert not breaker.allow(5)
    assert breaker.state(11) == "half_open"
    assert breaker.allow(11)
    assert not breaker.allow(11.5)  # only one trial call
    breaker.success()
    assert breaker.state(12) == "closed"
    assert breaker.opened_count == 1


def test_a_failed_trial_opens_again() -> None:
    breaker = CircuitBreaker(failures=1, cooldown_s=10)
    breaker.failure(0)
    assert breaker.allow(10)
    breaker.failure(10)
    assert breaker.state(15) == "open"
    assert breaker.opened_count == 2


def test_success_resets_the_count() -> None:
    breaker = CircuitBreaker(failures=2, cooldown_s=10)
    breaker.failure(0)
    breaker.success()
    breaker.failure(1)
    assert breaker.state(1) == "closed"
