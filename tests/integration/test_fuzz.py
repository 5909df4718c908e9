"""Bounded fuzzing of what strangers reach: no crash, no 500 (tests/fuzz_targets.py; scripts/fuzz.py for more)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kiosk.config import DEFAULT_POLICY_DIR, Settings
from kiosk.runtime import DevicesConfig, RuntimeConfig
from kiosk.web import create_app
from tests import fuzz_targets
from tests.integration.admin_helpers import add_users, sign_in
from tests.integration.runtime_helpers import BUSY_MACHINE, FRIDAY_MORNING, kiosk_client

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
EXAMPLES = 200


@pytest.fixture(scope="module")
def kiosk(tmp_path_factory: pytest.TempPathFactory, nlu_bundle: Path) -> Iterator[TestClient]:
    state = tmp_path_factory.mktemp("fuzz") / "state"
    config = RuntimeConfig(
        width=270, height=480, fps=5.0, speak=False, devices=DevicesConfig(camera="none"), budgets=BUSY_MACHINE
    )
    settings = Settings(
        state_dir=state, seed_dirs=(DEFAULT_POLICY_DIR, nlu_bundle), use_llm=False, use_embedder=False, runtime=config
    )
    with kiosk_client(create_app(settings)) as client:
        client.app.state.runtime.now = lambda: FRIDAY_MORNING  # type: ignore[attr-defined]
        yield client


def test_fuzz_every_http_endpoint(kiosk: TestClient) -> None:
    state_dir = Path(kiosk.app.state.admin.settings.state_dir)  # type: ignore[attr-defined]
    add_users(state_dir / "kiosk.db")
    staff = TestClient(kiosk.app, base_url="http://127.0.0.1")
    sign_in(staff, "sup")
    outcomes = fuzz_targets.fuzz_http(kiosk.app, EXAMPLES, staff_cookies=dict(staff.cookies))
    assert sum(outcomes.values()) >= EXAMPLES // 2
    assert {"400", "401", "403"} & set(outcomes)  # the boundary was exercised, not only happy paths
    assert kiosk.get("/healthz").status_code == 200


def test_fuzz_the_turn(kiosk: TestClient) -> None:
    conversations: Any = kiosk.app.state.conversations  # type: ignore[attr-defined]
    outcomes = fuzz_targets.fuzz_turn(conversations, EXAMPLES)
    assert sum(outcomes.values()) >= EXAMPLES // 2


def test_fuzz_the_policy_loader() -> None:
    outcomes = fuzz_targets.fuzz_policy(EXAMPLES)
    assert outcomes["rejected"] > 0


def test_fuzz_the_wav_reader() -> None:
    outcomes = fuzz_targets.fuzz_wav(EXAMPLES)
    assert outcomes["AudioFormatError"] > 0


def test_fuzz_the_bundle_unpacker() -> None:
    outcomes = fuzz_targets.fuzz_unpack(EXAMPLES)
    assert outcomes["UnpackError"] > 0
