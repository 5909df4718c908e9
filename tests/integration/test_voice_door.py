"""A voice turn goes through the same door as a typed one (issue 17): espeak-ng speech -> endpointing ->
real whisper -> ``Conversations.turn`` -> the hand-off is queued and the session ended, like a typed turn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edge_models.asr import AsrModels
from edge_models.audio import write_wav
from edge_models.tts import EspeakSynthesizer
from kiosk.config import DEFAULT_POLICY_DIR
from kiosk.conversation import Conversations
from kiosk.dialogue.engine import DialogueEngine
from kiosk.dialogue.ports import MemoryTicketDispenser
from kiosk.policy import load_policy
from kiosk.storage import Store
from kiosk.voice.files import voice_turns
from tests.voice_support import speak, voice_state

ASK_FOR_STAFF = "I want to talk to a staff member."


def side_effects(store: Store, session: str) -> tuple[list[Any], list[Any], list[Any]]:
    turns = [(t["source"], t["intent"], t["action"]) for t in store.turns(session)]
    handoffs = [tuple(r) for r in store._query("SELECT kind, reason FROM handoffs WHERE session_id = ?", (session,))]
    ended = [
        tuple(r) for r in store._query("SELECT outcome FROM sessions WHERE id = ? AND ended_at IS NOT NULL", (session,))
    ]
    return turns, handoffs, ended


def test_a_voice_turn_queues_a_hand_off_and_ends_the_session_like_a_typed_one(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    asr = AsrModels(voice_state(tmp_path_factory), build_defaults=False).engine_for("en")
    wav = tmp_path / "staff.en.wav"
    write_wav(wav, speak(ASK_FOR_STAFF, "en", 130))
    store = Store(tmp_path / "kiosk.db")
    engine = DialogueEngine(load_policy(DEFAULT_POLICY_DIR), None, tickets=MemoryTicketDispenser())
    conversations = Conversations(engine, store, resume_summaries=False)
    try:
        (spoken,) = list(
            voice_turns(conversations, asr, EspeakSynthesizer(), [wav], tmp_path / "out", session_id="spoken")
        )
        conversations.turn("typed", text=ASK_FOR_STAFF)
        assert conversations.summaries is not None
        conversations.summaries.close(timeout=30.0)
        voice = side_effects(store, "spoken")
        typed = side_effects(store, "typed")
    finally:
        store.close()

    assert "staff" in spoken["heard"].lower()
    assert spoken["action"] == "handoff"
    assert voice == ([("voice", "human_agent", "handoff")], [("handoff", "requested")], [("handoff",)])
    assert typed == ([("text", "human_agent", "handoff")], [("handoff", "requested")], [("handoff",)])
