"""The monthly compliance PDF from a kiosk with real conversations: what it says, read back from its pages."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy
import pypdfium2 as pdfium
import pytest
from fastapi.testclient import TestClient

from kiosk.config import DEFAULT_POLICY_DIR, Settings
from kiosk.web import create_app
from tests.integration.admin_helpers import RAW, add_users, converse, sign_in
from tests.integration.runtime_helpers import kiosk_client

KIOSK = Path(sys.executable).parent / "kiosk"
ROOT = Path(__file__).resolve().parents[2]
MONTH = datetime.now(UTC).strftime("%Y-%m")


@pytest.fixture
def client(tmp_path: Path, nlu_bundle: Path) -> Iterator[TestClient]:
    settings = Settings(state_dir=tmp_path / "state", seed_dirs=(DEFAULT_POLICY_DIR, nlu_bundle))
    add_users(settings.db_path)
    with kiosk_client(create_app(settings)) as test_client:
        converse(test_client)
        yield test_client


def _pdf_text(data: bytes, pngs: Path | None = None) -> str:
    """Every page's text; with ``pngs``, each page is also rendered to ``pngs/page-N.png``."""
    pdf = pdfium.PdfDocument(data)
    texts = []
    for index in range(len(pdf)):
        page = pdf[index]
        texts.append(page.get_textpage().get_text_range())
        if pngs is not None:
            pngs.mkdir(parents=True, exist_ok=True)
            image = page.render(scale=1.5).to_pil().convert("L")
            image.save(pngs / f"page-{index + 1}.png")
            dark = int((numpy.asarray(image) < 128).sum())
            assert dark > 2000, f"page {index + 1} renders nearly blank"
    return "\n".join(texts)


def _staff_work(client: TestClient) -> None:
    """A clerk resolves the risk alert with a note (a phone number in it), a supervisor changes a setting."""
    csrf = sign_in(client, "clerk")
    store = client.app.state.admin.store  # type: ignore[attr-defined]
    risk = next(h for h in store.handoffs() if h.kind == "risk")
    note = f"已回电 {RAW[2]}，转账已拦截"
    response = client.post(f"/admin/handoffs/{risk.id}/resolved", data={"csrf": csrf, "note": note})
    assert response.status_code == 200, response.text
    client.cookies.clear()
    csrf = sign_in(client, "sup")
    response = client.post("/admin/settings", data={"csrf": csrf, "name": "volume", "value": "55"})
    assert response.status_code == 200, response.text
    store.set_session_elderly("s-zh", True)


def test_the_monthly_pdf_reads_back_with_chinese_intact_and_masked(client: TestClient, tmp_path: Path) -> None:
    _staff_work(client)
    response = client.get("/admin/report.pdf", params={"month": MONTH})  # the supervisor signed in last
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    text = _pdf_text(response.content, tmp_path / "pages")
    assert f"合规月报 Compliance report · {MONTH}" in text
    for heading in ("公平性 Fairness", "风险提示及处理", "模型与策略版本", "设置变更"):
        assert heading in text, heading
    flat = re.sub(r"\s+", "", text)  # table cells wrap their lines
    assert "已回电[phone****5678]，转账已拦截" in flat  # the staff note, Chinese intact and the number masked
    assert "resolved by clerk" in text
    assert "volume" in text
    assert "55" in text
    assert "elderly mode" in text
    assert "standard" in text
    assert "policy" in text  # the active policy bundle and its version
    for raw in RAW:
        assert raw.replace(" ", "") not in flat, raw


def test_report_needs_a_signed_in_supervisor_and_a_real_month(client: TestClient) -> None:
    assert client.get("/admin/report.pdf", params={"month": MONTH}, follow_redirects=False).status_code in (303, 401)
    sign_in(client, "clerk")
    assert client.get("/admin/report.pdf", params={"month": MONTH}).status_code == 403
    client.cookies.clear()
    sign_in(client, "sup")
    assert client.get("/admin/report.pdf", params={"month": "2026-13"}).status_code == 422
    assert client.get("/admin/report.pdf", params={"month": "x" * 5000}).status_code == 422
    audit = client.get("/admin/audit").text
    assert 'action="/admin/report.pdf"' in audit  # the download button


def test_cli_writes_the_report_and_refuses_a_bad_month(client: TestClient, tmp_path: Path) -> None:
    _staff_work(client)
    state = client.app.state.admin.settings.state_dir  # type: ignore[attr-defined]
    out = tmp_path / "out" / "report.pdf"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    args = [str(KIOSK), "admin", "report", "--state-dir", str(state), "--out", str(out)]
    done = subprocess.run([*args, "--month", MONTH], capture_output=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr.decode()
    text = _pdf_text(out.read_bytes())
    assert "转账已拦截" in re.sub(r"\s+", "", text)
    bad = subprocess.run([*args, "--month", "2026-13"], capture_output=True, env=env, timeout=300, check=False)
    assert bad.returncode == 2
    assert b"month must be YYYY-MM" in bad.stderr
