"""Helpers shared by the tests of the running kiosk."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from kiosk.runtime.config import StageBudgets

# Inside the demo branch's opening hours (branch.yaml): the runtime's injected local time.
FRIDAY_MORNING = datetime(2026, 11, 27, 10, 30)
# Tests check what the kiosk does, not how fast: on a busy 2-core machine no stage may be skipped for time.
BUSY_MACHINE = StageBudgets(asr_s=60, dialogue_s=60, tts_s=60, print_s=60, presence_s=60, ocr_s=120)
BUSY_MACHINE_TOML = "[budgets]\nasr_s = 60\ndialogue_s = 60\ntts_s = 60\nprint_s = 60\npresence_s = 60\nocr_s = 120\n"


def wait_for(check: Callable[[], Any], timeout_s: float = 60.0) -> Any:
    """Poll ``check`` until it returns something true; fail the test after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def kiosk_client(app: Any) -> Any:
    """A TestClient that is the kiosk screen: a loopback Host and the app's device token.

    Returns a ``fastapi.testclient.TestClient`` (use it as a context manager to run the lifespan).
    """
    from fastapi.testclient import TestClient

    from kiosk.web.trust import DEVICE_HEADER

    return TestClient(app, base_url="http://127.0.0.1", headers={DEVICE_HEADER: app.state.device_token})


def device_headers(state_dir: Any) -> dict[str, str]:
    """The device token header of a `kiosk run` using ``state_dir`` (read from ``<state>/device-token``)."""
    from pathlib import Path

    from kiosk.web.trust import DEVICE_HEADER

    return {DEVICE_HEADER: (Path(state_dir) / "device-token").read_text(encoding="utf-8").strip()}
