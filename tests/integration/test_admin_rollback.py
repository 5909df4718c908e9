"""Roll back from the admin page, then let the real agent poll a real TUF repository: no reinstall."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.config import DEFAULT_POLICY_DIR, Settings
from kiosk.web import create_app
from sync.agent.config import load_state
from tests.integration.admin_helpers import add_users, sign_in
from tests.integration.runtime_helpers import kiosk_client
from tests.integration.test_sync_faults import NEW, OLD, Setup, provision_kiosk


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    made = provision_kiosk(tmp_path, tmp_path / "state")
    yield made
    made.server.close()


def test_admin_rollback_is_held_by_the_agent_until_hq_publishes_a_newer_version(setup: Setup) -> None:
    setup.publish(NEW)
    agent = setup.agent()
    assert agent.sync_once().activated == ("demo=2.0.0",)
    assert agent.watch() == ["confirmed demo 2.0.0"]
    settings = Settings(state_dir=setup.state, seed_dirs=(DEFAULT_POLICY_DIR,), use_model=False, use_llm=False)
    add_users(settings.db_path)
    with kiosk_client(create_app(settings)) as client:
        csrf = sign_in(client, "sup")
        response = client.post(
            "/admin/updates/rollback", data={"csrf": csrf, "name": "demo", "version": OLD}, follow_redirects=False
        )
        assert response.status_code == 303
        assert setup.active() == OLD
        page = client.get("/admin/updates").text
        assert "held back" in page
        assert NEW in page

        result = agent.sync_once()  # the agent's next poll: HQ still publishes NEW
        assert (result.ok, result.activated) == (True, ())
        assert setup.active() == OLD
        assert agent.watch() == []
        assert NEW in load_state(setup.state).bundle("demo").held

        setup.publish("3.0.0")  # a newer version ends the hold
        assert agent.sync_once().activated == ("demo=3.0.0",)
        assert setup.active() == "3.0.0"
        assert "held back" not in client.get("/admin/updates").text
