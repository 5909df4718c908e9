"""The admin page uses the kiosk's store (the composition root's) inside the kiosk, its own when mounted alone."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kiosk.admin import mount_admin
from kiosk.config import DEFAULT_POLICY_DIR, Settings
from kiosk.web import create_app
from tests.integration.runtime_helpers import kiosk_client


def _settings(state: Path) -> Settings:
    return Settings(
        state_dir=state, seed_dirs=(DEFAULT_POLICY_DIR,), use_model=False, use_llm=False, use_embedder=False
    )


def test_inside_the_kiosk_the_admin_page_uses_the_kiosks_store(tmp_path: Path) -> None:
    app = create_app(_settings(tmp_path / "state"))
    with kiosk_client(app) as client:
        kiosk, admin = app.state.kiosk, app.state.admin
        assert admin.store is kiosk.store  # one store, the composition root's; not a second connection
        assert not admin.owns_store
        client.post("/api/turn", json={"session": "s1", "text": "我要取号"}).raise_for_status()
        assert [t["intent"] for t in admin.store.turns("s1")] == ["queue_ticket"]
    # Shut down in order: the page lets go, the kiosk closes the store once.
    with pytest.raises(sqlite3.ProgrammingError):
        kiosk.store.turns("s1")


def test_mounted_alone_the_admin_page_opens_and_closes_its_own_store(tmp_path: Path) -> None:
    app = FastAPI()
    ctx = mount_admin(app, _settings(tmp_path / "state"))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        assert ctx.owns_store
        assert ctx.store is not None
        assert ctx.store.turns("nobody") == []
        assert client.get("/admin/").status_code in {200, 303, 307}  # usable: it asks for a sign-in
    with pytest.raises(sqlite3.ProgrammingError):
        ctx.store.turns("nobody")
