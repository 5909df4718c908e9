"""Bytes one sync-agent cycle reads and writes to install a published bundle (``/proc/self/io``).

    PYTHONPATH=$PWD .venv/bin/python scripts/bench_bundle_io.py [--mb 200]

It imports through the old ``sync.*`` names (kept as re-exports), so the same
script runs against a tree from before ``bundles/`` (``PYTHONPATH=<that tree>``)
for comparison. Linux only.
"""

from __future__ import annotations

import argparse
import functools
import os
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sync.activation import active_manifest, provision_seed
from sync.agent import AgentConfig, SyncAgent, save_config, trusted_root_path
from sync.bundle import atomic_write_bytes, write_manifest
from sync.hq import HqRepository

MIB = 1 << 20


def _io() -> tuple[int, int]:
    fields = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    return int(fields["rchar"]), int(fields["wchar"])


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def _bundle(tmp: Path, version: str, mib: int) -> Path:
    directory = tmp / f"src-{version}"
    directory.mkdir()
    with (directory / "model.bin").open("wb") as out:
        for _ in range(mib):
            out.write(os.urandom(MIB))
    write_manifest(directory, name="demo", kind="embedder", version=version)
    return directory


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        hq = HqRepository.init(tmp / "hq")
        state = tmp / "state"
        provision_seed(_bundle(tmp, "1", 1), state)
        hq.add(_bundle(tmp, "2", args.mb))
        hq.publish()
        server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(hq.public)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}"
        config = AgentConfig(
            metadata_url=f"{url}/metadata/", targets_url=f"{url}/targets/", kiosk_id="bench", health_window_s=0
        )
        atomic_write_bytes(trusted_root_path(state), hq.root_bytes())
        save_config(state, config)
        agent = SyncAgent(state, config)
        read0, wrote0 = _io()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        result = agent.sync_once()
        read1, wrote1 = _io()
        cpu1, wall1 = time.process_time(), time.perf_counter()
        agent.watch()
        read2, _ = _io()
        active = active_manifest(state, "demo")
        print(
            f"{args.mb} MiB bundle, one cycle (ok={result.ok}, active {active.version if active else '-'}): "
            f"read {(read1 - read0) / MIB:.0f} MiB, wrote {(wrote1 - wrote0) / MIB:.0f} MiB, "
            f"CPU {cpu1 - cpu0:.2f} s, wall {wall1 - wall0:.2f} s; confirmation read {(read2 - read1) / MIB:.0f} MiB"
        )
        server.shutdown()


if __name__ == "__main__":
    main()
