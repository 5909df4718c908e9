"""The composition root (kiosk/assembly/root.py): one place builds the store, engine, conversations and runtime."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from kiosk.assembly import build_kiosk
from kiosk.config import DEFAULT_POLICY_DIR, Settings
from kiosk.runtime import DevicesConfig, RuntimeConfig
from tests.integration.runtime_helpers import BUSY_MACHINE


def _settings(state: Path, runtime: RuntimeConfig | None = None) -> Settings:
    return Settings(
        state_dir=state,
        seed_dirs=(DEFAULT_POLICY_DIR,),
        use_model=False,
        use_llm=False,
        use_embedder=False,
        runtime=runtime,
    )


def test_the_built_kiosk_takes_a_turn_through_the_door_and_stores_it(tmp_path: Path) -> None:
    kiosk = build_kiosk(_settings(tmp_path / "s"), resume_summaries=False)
    try:
        assert kiosk.health.policy_version == kiosk.engine.policy.version != "none"
        assert "no intent model" not in " ".join(kiosk.health.problems)  # the model is off, not missing
        decision, _ = kiosk.conversations.turn("s1", text="我要取号")
        assert (decision.intent, decision.flow) == ("queue_ticket", "queue_ticket")
        assert [t["intent"] for t in kiosk.store.turns("s1")] == ["queue_ticket"]
        with pytest.raises(ValueError, match="page only"):
            kiosk.attach_runtime()
    finally:
        kiosk.close()
    with pytest.raises(sqlite3.ProgrammingError):
        kiosk.store.turns("s1")  # closed


def test_the_runtime_is_attached_with_the_settings_devices_and_closed_with_the_kiosk(tmp_path: Path) -> None:
    devices = DevicesConfig(camera="none", microphone="none", speaker="none", card_reader="none")
    config = RuntimeConfig(speak=False, devices=devices, budgets=BUSY_MACHINE)
    kiosk = build_kiosk(_settings(tmp_path / "s", config), resume_summaries=False)
    try:
        runtime = kiosk.attach_runtime(ticket_dir=tmp_path / "tickets", with_screen=False)
        assert kiosk.runtime is runtime
        assert runtime.conversations is kiosk.conversations
        assert runtime.devices.printer is not None
        assert runtime.devices.missing == dict.fromkeys(
            ("camera", "microphone", "speaker", "card_reader"), "not configured"
        )
        with pytest.raises(ValueError, match="already"):
            kiosk.attach_runtime()
    finally:
        kiosk.close()
