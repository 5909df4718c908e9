"""Helpers shared by the tests of the running kiosk."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

# Inside the demo branch's opening hours (branch.yaml): the runtime's injected local time.
FRIDAY_MORNING = datetime(2026, 11, 27, 10, 30)


def wait_for(check: Callable[[], Any], timeout_s: float = 60.0) -> Any:
    """Poll ``check`` until it returns something true; fail the test after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")
