"""Kiosk -> HQ figures: signing and verifying one envelope, and delivering a backlog of staff labels.

.venv/bin/python scripts/bench_hq_intake.py [--labels 500]

Starts a real HQ server (uvicorn, port 0) over a fresh repository, enrols a
kiosk, fills its kiosk.db with labelled turns and times the agent's upload.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.admin.accounts import AdminDB
from kiosk.dialogue.decision import Decision
from kiosk.storage import Store
from sync.agent import AgentConfig, SyncAgent
from sync.agent.identity import create_identity
from sync.envelope import parse_headers, seal, verify_signature
from sync.hq import HqRepository
from sync.hq.db import HqDB, hq_db_path
from sync.hq.server import create_hq_app


def envelope_figures(n: int = 2000) -> None:
    key = Ed25519PrivateKey.generate()
    body = b"x" * 4096
    start = time.perf_counter()
    sealed = [seal(key, "k1", i + 1, now=1.8e9, path="/api/report", body=body) for i in range(n)]
    middle = time.perf_counter()
    for envelope in sealed:
        verify_signature(parse_headers(envelope.headers()), key.public_key(), "/api/report", body)
    end = time.perf_counter()
    print(f"seal: {1e6 * (middle - start) / n:.0f} us/message; parse+verify: {1e6 * (end - middle) / n:.0f} us/message")


def backlog_figures(tmp: Path, labels: int) -> None:
    import uvicorn

    home = HqRepository.init(tmp / "hq").home
    server = uvicorn.Server(uvicorn.Config(create_hq_app(home), host="127.0.0.1", port=0, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    state = tmp / "kiosk"
    _, public = create_identity(state)
    db = HqDB(hq_db_path(home))
    db.enrol("k1", public)
    store = Store(state / "kiosk.db")
    decision = Decision(reply="?", lang="zh", intent="fallback", stage="fallback", confidence=0.1, action="clarify")
    ids = [
        store.record_turn(f"s{n}", "typed", f"我的卡第{n}次被吞了，请帮忙处理一下" * 3, decision, 1.0)
        for n in range(labels)
    ]
    store.close()
    admin = AdminDB(state / "kiosk.db")
    for turn_id in ids:
        admin.label(turn_id, "card_lost", "clerk")
    admin.close()
    config = AgentConfig(metadata_url=f"{base}/metadata/", targets_url=f"{base}/targets/", kiosk_id="k1",
                         report_url=f"{base}/api/report")  # fmt: skip
    start = time.perf_counter()
    result = SyncAgent(state, config).upload()
    seconds = time.perf_counter() - start
    arrived = len(db.labels())
    db.close()
    server.should_exit = True
    print(f"backlog of {labels} labels: queued {result['queued']}, sent {result['sent']}, at HQ {arrived},"
          f" {seconds:.2f} s ({labels / seconds:.0f} labels/s)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--labels", type=int, default=500)
    args = parser.parse_args()
    envelope_figures()
    with tempfile.TemporaryDirectory() as tmp:
        backlog_figures(Path(tmp), args.labels)


if __name__ == "__main__":
    main()
