"""Staff label a service the model does not know yet: the active policy declares it, the review page offers it."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.admin.accounts import AdminDB
from kiosk.config import Settings
from kiosk.web import create_app
from tests.integration.admin_helpers import add_users, converse, sign_in
from tests.integration.runtime_helpers import kiosk_client
from tests.integration.test_hq_train import NEW, policy_with_new_intent


def test_the_review_page_offers_and_stores_an_intent_the_active_policy_adds(tmp_path: Path, nlu_bundle: Path) -> None:
    policy = policy_with_new_intent(tmp_path / "policy-rmb")
    settings = Settings(state_dir=tmp_path / "state", seed_dirs=(policy, nlu_bundle))
    add_users(settings.db_path)
    with kiosk_client(create_app(settings)) as client:
        converse(client)
        csrf = sign_in(client, "clerk")
        page = client.get("/admin/review").text
        assert f"<option>{NEW}</option>" in page
        turn_id = int(page.split('data-turn="')[1].split('"')[0])
        unknown = client.post(f"/admin/review/{turn_id}", data={"csrf": csrf, "intent": "gold_bars"})
        assert unknown.status_code == 422
        stored = client.post(f"/admin/review/{turn_id}", data={"csrf": csrf, "intent": NEW}, follow_redirects=False)
        assert stored.status_code == 303
    db = AdminDB(settings.db_path)
    try:
        assert [r["intent"] for r in db.labels()] == [NEW]
        with pytest.raises(ValueError, match=f"unknown intent '{NEW}'"):
            db.label(turn_id, NEW, "clerk")  # the built-in core alone does not know it
    finally:
        db.close()
