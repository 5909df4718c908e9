"""The probe's upload attack, measured: N clients at once each stream a chunked 100 MB body at the kiosk.

Before issue 16 the server read each body whole before its 5 MB check (5 at once: 1.24 GB). Prints, per
client, the answer and how many bytes it managed to push before the server cut it off, and the server
process's RSS before and after (the app runs in this process on a real uvicorn server on port 0).

    .venv/bin/python scripts/bench_upload.py --clients 5 --mb 100
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    """This process's resident memory (MB)."""
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    """Run the attack; one JSON object with the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=5)
    parser.add_argument("--mb", type=int, default=100, help="Size each client tries to send.")
    parser.add_argument("--path", default="/api/kiosk/voice")
    args = parser.parse_args()
    import httpx
    import uvicorn

    from kiosk.config import DEFAULT_POLICY_DIR, Settings
    from kiosk.web import create_app
    from kiosk.web.trust import DEVICE_HEADER

    with tempfile.TemporaryDirectory(prefix="kiosk-upload-") as tmp:
        settings = Settings(
            state_dir=Path(tmp), seed_dirs=(DEFAULT_POLICY_DIR,), use_model=False, use_llm=False, use_embedder=False
        )
        app = create_app(settings)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        url = f"http://127.0.0.1:{port}{args.path}"
        headers = {DEVICE_HEADER: app.state.device_token, "Content-Type": "audio/wav"}

        def attack(_: int) -> dict[str, object]:
            pushed = 0

            def body() -> Iterator[bytes]:
                nonlocal pushed
                chunk = b"\0" * 65536
                while pushed < args.mb * 1024 * 1024:
                    pushed += len(chunk)
                    yield chunk

            try:
                status: object = httpx.post(url, content=body(), headers=headers, timeout=60).status_code
            except httpx.TransportError as err:
                status = f"closed ({type(err).__name__})"
            return {"status": status, "pushed_mb": round(pushed / 2**20, 1)}

        before = rss_mb()
        started = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            results = list(pool.map(attack, range(args.clients)))
        report = {
            "clients": args.clients,
            "tried_mb_each": args.mb,
            "path": args.path,
            "results": results,
            "rss_before_mb": round(before, 1),
            "rss_after_mb": round(rss_mb(), 1),
            "seconds": round(time.perf_counter() - started, 2),
        }
        server.should_exit = True
        thread.join(timeout=20)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
