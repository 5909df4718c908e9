"""The compliance report's month bounds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kiosk.admin.compliance import ReportError, last_month, month_range


def test_month_bounds_cover_the_whole_month_and_cross_the_year() -> None:
    assert month_range("2026-11") == ("2026-11-01", "2026-12-01")
    assert month_range("2026-12") == ("2026-12-01", "2027-01-01")


@pytest.mark.parametrize("bad", ["2026-13", "2026-00", "2026-1", "26-11", "2026-11-01", "", "２０２６-11"])
def test_malformed_months_are_refused(bad: str) -> None:
    with pytest.raises(ReportError, match="YYYY-MM"):
        month_range(bad)


def test_last_month_crosses_the_year() -> None:
    assert last_month(datetime(2026, 12, 5, tzinfo=UTC)) == "2026-11"
    assert last_month(datetime(2027, 1, 1, tzinfo=UTC)) == "2026-12"
