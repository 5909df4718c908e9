"""Sync figures: verify+activate a large bundle, bytes re-fetched after a cut, publish-to-active latency.

.venv/bin/python scripts/bench_sync.py [--mb 100]
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import sys
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bundles.activation import activate, active_manifest, install_unpacked, provision_seed
from bundles.archive import unpack_bundle
from bundles.manifest import atomic_write_bytes, write_manifest
from sync.agent import AgentConfig, SyncAgent, save_config, trusted_root_path
from sync.fetch import DEFAULT_CHUNK
from sync.hq import HqRepository


class _Handler(SimpleHTTPRequestHandler):
    """Static files; targets honour Range and can be cut after ``cut_at`` bytes."""

    cut_at: int | None = None
    root = Path()

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if not self.path.startswith("/targets/"):
            super().do_GET()
            return
        data = (_Handler.root / self.path.lstrip("/")).read_bytes()
        start = int(self.headers["Range"].removeprefix("bytes=").split("-")[0]) if self.headers.get("Range") else 0
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        end = len(data) if _Handler.cut_at is None else _Handler.cut_at
        self.wfile.write(data[start:end])
        self.close_connection = True


def make_bundle(parent: Path, version: str, size: int) -> Path:
    directory = parent / f"src-{version}"
    directory.mkdir()
    with (directory / "model.bin").open("wb") as out:
        for _ in range(size // (1 << 20)):
            out.write(os.urandom(1 << 20))
    write_manifest(directory, name="demo", kind="embedder", version=version)
    return directory


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=100)
    args = parser.parse_args()
    size = args.mb << 20
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        hq = HqRepository.init(tmp / "hq")
        state = tmp / "state"
        provision_seed(make_bundle(tmp, "1", 1 << 20), state)
        big = make_bundle(tmp, "2", size)
        hq.add(big)
        hq.publish()
        archive = next((hq.targets_dir / "demo").glob("*.tar"))

        started = time.perf_counter()
        staging, manifest = unpack_bundle(archive, state / "sync" / "staging")
        unpacked = time.perf_counter()
        install_unpacked(staging, manifest, state)
        activate(state, "demo", "2")
        done = time.perf_counter()
        print(
            f"{args.mb} MB bundle: unpack+verify (hashed once, while unpacking) {unpacked - started:.2f} s, "
            f"install (rename)+activate {done - unpacked:.2f} s, total {done - started:.2f} s"
        )
        activate(state, "demo", "1")
        shutil.rmtree(state / "bundles" / "demo" / "2")

        _Handler.root = hq.public
        server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(hq.public)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}"
        config = AgentConfig(
            metadata_url=f"{url}/metadata/", targets_url=f"{url}/targets/", kiosk_id="bench", health_window_s=0
        )
        atomic_write_bytes(trusted_root_path(state), hq.root_bytes())
        save_config(state, config)
        agent = SyncAgent(state, config)
        length = archive.stat().st_size
        _Handler.cut_at = length // 2
        first = agent.sync_once()
        partial = sum(p.stat().st_size for p in (state / "sync" / "partial").glob("*.part"))
        _Handler.cut_at = None
        second = agent.sync_once()
        remaining = length - length // 2
        print(
            f"cut at 50%: partial kept {partial} B (first try ok={first.ok}); resume fetched "
            f"{second.fetched_bytes} B for {remaining} B remaining; extra {second.fetched_bytes - remaining} B "
            f"(goal: at most one chunk, {DEFAULT_CHUNK} B); active {active_manifest(state, 'demo').version}"
        )  # type: ignore[union-attr]

        small = make_bundle(tmp, "3", 1 << 20)
        stop = threading.Event()
        poll = SyncAgent(state, config.model_copy(update={"poll_s": 1.0, "tick_s": 0.1, "jitter": 0.0}))
        runner = threading.Thread(target=poll.run, args=(stop,), daemon=True)
        runner.start()
        time.sleep(1.5)
        published = time.perf_counter()
        hq.add(small)
        hq.publish()
        while getattr(active_manifest(state, "demo"), "version", "") != "3":
            time.sleep(0.02)
        print(f"publish to active on a kiosk polling every 1 s: {time.perf_counter() - published:.2f} s")
        stop.set()
        runner.join(timeout=10)
        server.shutdown()


if __name__ == "__main__":
    main()
