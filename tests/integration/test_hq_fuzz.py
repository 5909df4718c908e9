"""Bounded fuzzing of HQ's server as a stranger or a buggy kiosk reaches it: no 500, nothing stored unsigned."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync.agent.identity import DeviceSigner, create_identity
from sync.envelope import seal
from sync.hq import HqRepository
from sync.hq.db import HqDB
from sync.hq.server import create_hq_app
from tests.fuzz_targets import JSON, SAFE_TEXT

EXAMPLES = 200
PATHS = [
    "/api/report",
    "/api/intake",
    "/api/fleet",
    "/fleet",
    "/login",
    "/logout",
    "/metadata/1.root.json",
    "/labels/1",
    "/api/kpis",
]
ITEM = st.fixed_dictionaries(
    {"kind": st.sampled_from(["label", "counts", "other"]), "item_id": SAFE_TEXT},
    optional={
        "text": SAFE_TEXT,
        "lang": st.sampled_from(["zh", "en", "fr", ""]),
        "intent": SAFE_TEXT,
        "labelled_at": SAFE_TEXT,
        "day": st.sampled_from(["2026-12-01", "2026-13-45", "x"]),
        "rows": st.lists(JSON, max_size=3),
    },
)
BODIES = st.one_of(
    st.builds(lambda d: json.dumps(d).encode(), JSON),
    st.builds(lambda items: json.dumps({"items": items}).encode(), st.lists(ITEM, max_size=4)),
    st.builds(
        lambda k: json.dumps({"kiosk_id": k, "versions": {"a": "1"}}).encode(), st.sampled_from(["k1", "k2", ""])
    ),
    st.binary(max_size=256),
)
SIGNING = st.sampled_from(["none", "garbage", "stranger", "good", "good-other-path", "replay"])


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "method": draw(st.sampled_from(["POST", "POST", "POST", "GET", "PUT"])),
        "path": draw(st.sampled_from(PATHS[:2] * 4 + PATHS)),  # mostly the kiosk endpoints
        "body": draw(BODIES),
        "signing": draw(SIGNING),
        "garbage": draw(st.dictionaries(st.sampled_from(["x-kiosk-id", "x-kiosk-counter", "x-kiosk-time",
                                                          "x-kiosk-signature"]), st.text(max_size=30))),
    }  # fmt: skip


def test_fuzz_hq_endpoints(tmp_path: Path, hq_store_url: str) -> None:
    home = HqRepository.init(tmp_path / "hq").home
    state = tmp_path / "kiosk"
    _, public = create_identity(state)
    db = HqDB(hq_store_url)
    db.enrol("k1", public)
    app = create_hq_app(home, db_url=hq_store_url)
    client = TestClient(app, raise_server_exceptions=False)
    signer = DeviceSigner(state, "k1")
    stranger = Ed25519PrivateKey.generate()
    outcomes: Counter[str] = Counter()
    stored_by: Counter[str] = Counter()
    last: dict[str, str] = {}

    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(requests())
    def check(req: dict[str, Any]) -> None:
        body, path, signing = req["body"], req["path"], req["signing"]
        headers: dict[str, str] = {"content-type": "application/json"}
        if signing == "garbage":
            headers |= req["garbage"]
        elif signing == "stranger":
            headers |= seal(stranger, "k1", 2**62, now=time.time(), path=path, body=body).headers()
        elif signing in ("good", "good-other-path"):
            other = "/api/intake" if path == "/api/report" else "/api/report"
            headers |= signer.seal(path if signing == "good" else other, body, time.time()).headers()
            if signing == "good":
                last.update(headers)
        elif signing == "replay" and last:
            headers |= last
        try:
            before = len(db.labels())
            response = client.request(req["method"], path, content=body, headers=headers)
        except Exception as err:  # noqa: BLE001 - a header the client cannot send; server errors are 500s
            outcomes[f"unsendable:{type(err).__name__}"] += 1
            return
        assert response.status_code < 500, (req, response.status_code, response.text[:300])
        outcomes[str(response.status_code)] += 1
        if len(db.labels()) != before:
            stored_by[signing] += 1

    check()
    assert {"401", "403", "405", "409", "422"} & set(outcomes)
    assert set(stored_by) <= {"good"}  # only a fresh message signed by the kiosk stores anything
    assert all(row["kiosk_id"] == "k1" for row in db.fleet())
    db.close()
    app.state.hq_db.close()
