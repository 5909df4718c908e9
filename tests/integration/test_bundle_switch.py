"""An LLM and an ASR bundle switched under a running kiosk: the conversation under way finishes on the old
models, the next one runs on the new ones (real SmolLM2 through llama.cpp, real whisper, real espeak-ng audio)."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

from bundles.activation import activate, active_manifest, installed_dir
from bundles.manifest import read_manifest, write_manifest
from edge_models.asr import build_default_bundle
from edge_models.audio import Pcm, convert
from edge_models.build.llm_bundle import build, packaged_gguf
from edge_models.tts import EspeakSynthesizer, TtsSettings
from kiosk.assembly import EngineReloader
from kiosk.config import DEFAULT_POLICY_DIR, Settings
from kiosk.conversation import Conversations
from kiosk.runtime import KioskRuntime, RuntimeConfig, StageBudgets
from kiosk.runtime.assemble import asr_factory
from kiosk.runtime.devices import Devices

T = TypeVar("T")
OLD_LLM, NEW_LLM = "smol.1", "smol.2"
NEW_ASR = "whisper-base.2"


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(coro, timeout=300))


def second_asr_version(state: Path) -> str:
    """Install the active whisper bundle again under another version (hard links), as the agent would."""
    active = active_manifest(state, "asr-whisper")
    assert active is not None
    source = installed_dir(state, "asr-whisper", active.version)
    target = installed_dir(state, "asr-whisper", NEW_ASR)
    shutil.copytree(source, target, copy_function=os.link)
    (target / "manifest.json").unlink()
    write_manifest(target, name="asr-whisper", kind=active.kind, version=NEW_ASR, source=dict(active.source))
    return active.version


@pytest.fixture(scope="module")
def speech() -> Pcm:
    said = EspeakSynthesizer(TtsSettings(rate_wpm=130)).synthesize("What is the dollar rate today?", "en").pcm
    return convert(said.samples.astype("float64") / 32768.0, said.rate, 1)


def test_llm_and_asr_switched_under_a_running_kiosk_are_used_from_the_next_conversation(
    tmp_path: Path, speech: Pcm
) -> None:
    state = tmp_path / "state"
    seed = tmp_path / "seed" / "llm"
    build(seed, packaged_gguf(), style="chat", languages=["en"], version=OLD_LLM, origin="seed")
    build_default_bundle("asr-whisper", state)
    settings = Settings(
        state_dir=state,
        seed_dirs=(DEFAULT_POLICY_DIR, seed),
        use_model=False,
        use_embedder=False,
        llm_budget_s=30,  # tests share two busy cores
        llm_nice=0,  # and other people's load must not starve the model (its priority is tested in test_llm.py)
    )
    reloader = EngineReloader.start(settings)
    assert reloader.health.llm_version == OLD_LLM
    conversations = Conversations(reloader.engine, None, reloader=reloader)
    budgets = StageBudgets(asr_s=60, dialogue_s=60, tts_s=60)
    runtime = KioskRuntime(
        conversations,
        Devices(),
        RuntimeConfig(speak=False, budgets=budgets),
        asr=asr_factory(state, build_defaults=False),
    )

    def heard_by() -> list[str]:
        return [e["model"] for e in runtime.events if e["event"] == "recognised"]

    async def first_conversation(switch: Any) -> None:
        await runtime.arrive(lang="en")
        await runtime.voice(speech, "en")
        engine = conversations.engine
        switch()  # HQ published, the sync agent activated: mid-conversation
        await runtime.voice(speech, "en")
        await runtime.text("what is the dollar rate")
        assert conversations.engine is engine  # the conversation under way keeps its engine
        await runtime.end_session("left")

    async def next_conversation() -> None:
        await runtime.arrive(lang="en")
        await runtime.voice(speech, "en")
        await runtime.end_session("left")

    new_llm = installed_dir(state, "llm", NEW_LLM)
    build(new_llm, packaged_gguf(), style="chat", languages=["en"], version=NEW_LLM, origin="hq")
    old_asr = second_asr_version(state)

    def switch() -> None:
        activate(state, "llm", NEW_LLM)
        activate(state, "asr-whisper", NEW_ASR)

    run(first_conversation(switch))
    assert heard_by() == [f"asr-whisper {old_asr}"] * 2
    assert reloader.health.llm_version == OLD_LLM

    run(next_conversation())
    assert heard_by()[-1] == f"asr-whisper {NEW_ASR}"
    llm = conversations.engine.understander.llm
    assert llm is not None
    assert llm.model.version == NEW_LLM  # type: ignore[attr-defined]
    assert reloader.health.llm_version == NEW_LLM
    report = (state / "sync" / "runtime" / "llm.json").read_text()
    assert NEW_LLM in report
    assert '"ok": true' in report
    assert read_manifest(active_dir_of(state, "llm")).version == NEW_LLM


def active_dir_of(state: Path, name: str) -> Path:
    return (state / "active" / name).resolve()


def test_an_asr_bundle_that_does_not_load_is_reported_to_the_agent(tmp_path: Path) -> None:
    from bundles.status import read_runtime_report
    from edge_models import ModelError

    state = tmp_path / "state"
    broken = installed_dir(state, "asr-whisper", "9.9")
    (broken / "model").mkdir(parents=True)
    (broken / "model" / "model.bin").write_bytes(b"not a model")
    write_manifest(
        broken,
        name="asr-whisper",
        kind="asr-multi",
        version="9.9",
        source={"engine": "faster-whisper", "languages": ["en"]},
    )
    activate(state, "asr-whisper", "9.9")
    with pytest.raises(ModelError):
        asr_factory(state, build_defaults=False)()
    report = read_runtime_report(state, "asr-whisper")
    assert report is not None
    assert (report.version, report.ok) == ("9.9", False)
