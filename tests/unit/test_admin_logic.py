"""Pure logic of the admin page: lock-out, rate limit, session expiry, signed tokens, setting bounds, charts."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.admin.charts import line_chart
from kiosk.admin.errors import SettingError
from kiosk.admin.overrides import BY_NAME, spec
from kiosk.admin.reports import percentile
from kiosk.admin.security import (
    AttemptLimiter,
    LockoutPolicy,
    SessionPolicy,
    same_token,
    sign,
    token_digest,
    unsign,
)


def test_lockout_after_max_failures_then_unlocks() -> None:
    policy = LockoutPolicy(max_failures=3, lock_seconds=60)
    failures, until = 0, None
    for now in (0.0, 1.0):
        failures, until = policy.after_failure(failures, now)
        assert until is None
    failures, until = policy.after_failure(failures, 2.0)
    assert (failures, until) == (0, 62.0)
    assert policy.locked(until, 61.9)
    assert not policy.locked(until, 62.0)
    assert not policy.locked(None, 0.0)


def test_attempt_limiter_slides_and_stays_bounded() -> None:
    limiter = AttemptLimiter(max_attempts=2, window_seconds=10, max_keys=3)
    assert [limiter.allow("a", t) for t in (0, 1, 2)] == [True, True, False]
    assert limiter.allow("a", 10.5)
    for key in "bcdef":
        limiter.allow(key, 0)
    assert len(limiter._seen) == 3


@pytest.mark.parametrize(
    ("created", "last_seen", "now", "expired"),
    [(0, 0, 60, False), (0, 0, 1800, True), (0, 40000, 40100, False), (0, 43000, 43200, True)],
    ids=["fresh", "idle", "busy", "too-old"],
)
def test_session_expiry(created: float, last_seen: float, now: float, expired: bool) -> None:
    assert SessionPolicy(idle_seconds=1800, max_seconds=43200).expired(created, last_seen, now) is expired


def test_signed_values_and_tokens() -> None:
    signed = sign(b"k", "abc")
    assert unsign(b"k", signed) == "abc"
    assert unsign(b"other", signed) is None
    assert unsign(b"k", "abc.0000") is None
    assert unsign(b"k", "nodot") is None
    assert token_digest("t") != "t"
    assert len(token_digest("t")) == 64
    assert same_token("a", "a")
    assert not same_token("a", "b")
    assert not same_token(None, "a")
    assert not same_token("", "")


@pytest.mark.parametrize(
    ("name", "raw", "value"),
    [
        ("model_threshold", "0.8", 0.8),
        ("max_misses", "3", 3),
        ("elderly_mode", "on", True),
        ("elderly_mode", "off", False),
        ("default_lang", "en", "en"),
        ("opening_hours", "09:00-17:30", "09:00-17:30"),
    ],
    ids=["threshold", "misses", "elderly-on", "elderly-off", "lang", "hours"],
)
def test_settings_parse_within_bounds(name: str, raw: str, value: object) -> None:
    assert spec(name).parse(raw) == value


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("model_threshold", "0.99", "between 0.5 and 0.95"),
        ("model_threshold", "", "not a number"),
        ("max_misses", "2.5", "not a number"),
        ("volume", "101", "between 0 and 100"),
        ("default_lang", "de", "choose one of"),
        ("opening_hours", "9-5", "HH:MM-HH:MM"),
        ("opening_hours", "17:00-09:00", "opening before closing"),
    ],
    ids=["threshold-high", "threshold-empty", "misses-float", "volume-high", "lang-de", "hours-format", "hours-order"],
)
def test_settings_outside_bounds_are_refused(name: str, raw: str, message: str) -> None:
    with pytest.raises(SettingError, match=message):
        spec(name).parse(raw)


def test_unknown_setting_and_defaults_within_bounds() -> None:
    with pytest.raises(SettingError, match="unknown setting"):
        spec("rm -rf")
    for s in BY_NAME.values():
        if s.low is not None and s.high is not None:
            assert s.low <= s.default <= s.high, s.name


def test_percentile() -> None:
    assert percentile([], 0.95) == 0.0
    assert percentile([3, 1, 2], 0.5) == 2
    assert percentile(list(range(101)), 0.95) == 95


def test_chart_escapes_labels() -> None:
    svg = line_chart("<b>", ["a&b", "c"], {"x<y": [1.0, 2.0]})
    assert svg.startswith("<svg")
    assert "<b>" not in svg
    assert "&lt;b&gt;" in svg
    assert "a&amp;b" in svg
    assert svg.count("<polyline") == 1
    assert "<polyline" in line_chart("empty", [], {"s": []})


def test_short_metrics_token_is_refused_in_config_and_file(tmp_path: Path) -> None:
    from pydantic import ValidationError

    from kiosk.admin.config import AdminConfig
    from kiosk.admin.routes_manage import file_metrics_token

    with pytest.raises(ValidationError, match="at least 24"):
        AdminConfig(metrics_token="x")  # noqa: S106 - a deliberately short token
    token_file = tmp_path / "metrics-token"
    token_file.write_text("x\n")
    assert file_metrics_token(token_file) is None
    token_file.write_text("k" * 8 + "Zq93-h2LmP0aWc7r\n")
    assert file_metrics_token(token_file) == "k" * 8 + "Zq93-h2LmP0aWc7r"
