"""Staff threshold settings from the admin page reach the engine, within HQ's bounds."""

from __future__ import annotations

from pathlib import Path

from kiosk.assembly import EngineReloader, build_engine
from kiosk.config import DEFAULT_POLICY_DIR, Settings
from kiosk.storage import Store


def settings_for(tmp_path: Path, nlu_bundle: Path) -> Settings:
    return Settings(
        state_dir=tmp_path / "state", seed_dirs=(DEFAULT_POLICY_DIR, nlu_bundle), use_llm=False, use_embedder=False
    )


def test_overrides_apply_and_out_of_bounds_values_are_ignored(tmp_path: Path, nlu_bundle: Path) -> None:
    settings = settings_for(tmp_path, nlu_bundle)
    store = Store(settings.db_path)
    store.set_setting("admin.model_threshold", 0.9, by="alice")
    store.set_setting("admin.max_misses", 99, by="mallory")  # outside HQ's bounds (1-4)
    store.close()
    engine, _ = build_engine(settings)
    assert engine.understander.model_threshold == 0.9
    assert engine.policy.thresholds.max_misses == 2


def test_a_changed_setting_applies_from_the_next_conversation(tmp_path: Path, nlu_bundle: Path) -> None:
    settings = settings_for(tmp_path, nlu_bundle)
    reloader = EngineReloader.start(settings)
    first = reloader()
    assert first.policy.thresholds.clarify_options == 3
    store = Store(settings.db_path)
    store.set_setting("admin.clarify_options", 2, by="alice")
    store.close()
    second = reloader()
    assert second is not first
    assert second.policy.thresholds.clarify_options == 2
    assert reloader() is second
    assert reloader.health.policy_version == second.policy.version


def test_hq_bounds_come_from_the_policy(tmp_path: Path, nlu_bundle: Path) -> None:
    import shutil

    from bundles import write_manifest

    policy = tmp_path / "policy"
    shutil.copytree(DEFAULT_POLICY_DIR, policy)
    thresholds = policy / "thresholds.yaml"
    text = thresholds.read_text(encoding="utf-8").replace("model_threshold: [0.5, 0.95]", "model_threshold: [0.8, 0.9]")
    thresholds.write_text(text, encoding="utf-8")
    write_manifest(policy, name="policy", kind="policy", version="bounds.1")
    settings = Settings(state_dir=tmp_path / "state", seed_dirs=(policy, nlu_bundle), use_llm=False, use_embedder=False)
    store = Store(settings.db_path)
    store.set_setting("admin.model_threshold", 0.7, by="alice")  # inside the default range, outside HQ's
    store.close()
    engine, _ = build_engine(settings)
    assert engine.policy.thresholds.staff_bounds["model_threshold"] == (0.8, 0.9)
    assert engine.understander.model_threshold != 0.7
