"""The HQ server refuses oversized report bodies before reading them."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from sync.hq import HqRepository
from sync.hq.server import MAX_REPORT_BYTES, create_hq_app, fleet


def test_fifty_megabyte_report_is_refused_and_not_recorded(tmp_path: Path) -> None:
    hq = HqRepository.init(tmp_path / "hq")
    client = TestClient(create_hq_app(hq.home))
    huge = b'{"kiosk_id": "k1", "x": "' + b"a" * (50 * 1024 * 1024) + b'"}'
    response = client.post("/api/report", content=huge, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert str(MAX_REPORT_BYTES) in response.json()["detail"]
    assert fleet(hq.home / "fleet.db") == []
