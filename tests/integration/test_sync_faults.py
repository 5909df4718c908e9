"""Attacks and faults against the real agent, TUF client and a real HTTP server on loopback.

Each test asserts what the kiosk runs afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bundles.activation import active_manifest, provision_seed
from bundles.history import sync_history
from bundles.manifest import atomic_write_bytes, verify_bundle, write_manifest
from sync.agent import STEPS, AgentConfig, SyncAgent, save_config, trusted_root_path
from sync.hq import HqRepository

OLD, NEW = "1.0.0", "2.0.0"


@dataclass
class Faults:
    """What the server does wrong, for paths under /targets/."""

    cut_after: int | None = None  # close the connection after this many body bytes
    stall_s: float = 0.0  # sleep this long after the first chunk
    extra: bytes = b""  # append these bytes (more than the signed length)
    ranges: list[str] = field(default_factory=list)  # Range headers seen


class Server:
    """A static server of the HQ ``public/`` folder with Range support and faults."""

    def __init__(self, root: Path) -> None:
        self.faults = Faults()
        faults = self.faults

        class Handler(SimpleHTTPRequestHandler):
            def __init__(self, *args: object, **kwargs: object) -> None:
                super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                path = Path(str(root) + self.path)
                if not self.path.startswith("/targets/") or not path.is_file():
                    super().do_GET()
                    return
                data = path.read_bytes() + faults.extra
                start = 0
                header = self.headers.get("Range")
                if header:
                    faults.ranges.append(header)
                    start = int(header.removeprefix("bytes=").split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if faults.cut_after is not None:
                    body = body[: faults.cut_after]
                self.wfile.write(body[:1024])
                self.wfile.flush()
                if faults.stall_s:
                    time.sleep(faults.stall_s)
                try:
                    self.wfile.write(body[1024:])
                except OSError:
                    return
                if faults.cut_after is not None:
                    self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def make_bundle(tmp: Path, version: str, size: int = 4096) -> Path:
    directory = tmp / f"src-{version}"
    directory.mkdir()
    (directory / "data.bin").write_bytes(os.urandom(size))
    (directory / "about.txt").write_text(f"demo {version}\n")
    write_manifest(directory, name="demo", kind="embedder", version=version)
    return directory


@dataclass
class Setup:
    hq: HqRepository
    state: Path
    server: Server
    config: AgentConfig
    tmp: Path

    def agent(self, **kwargs: object) -> SyncAgent:
        return SyncAgent(self.state, self.config, **kwargs)  # type: ignore[arg-type]

    def publish(self, version: str, size: int = 4096, **publish: object) -> None:
        self.hq.add(make_bundle(self.tmp, version, size))
        self.hq.publish(**publish)  # type: ignore[arg-type]

    def active(self) -> str:
        manifest = active_manifest(self.state, "demo")
        return manifest.version if manifest else ""


def provision_kiosk(tmp_path: Path, state: Path, read_timeout_s: float = 0.5) -> Setup:
    """An HQ repository with its server, and a kiosk state provisioned for it with version OLD."""
    hq = HqRepository.init(tmp_path / "hq")
    server = Server(hq.public)
    config = AgentConfig(
        metadata_url=f"{server.url}/metadata/",
        targets_url=f"{server.url}/targets/",
        kiosk_id="k1",
        health_window_s=0,
        read_timeout_s=read_timeout_s,
        connect_timeout_s=2,
    )
    atomic_write_bytes(trusted_root_path(state), hq.root_bytes())
    save_config(state, config)
    provision_seed(make_bundle(tmp_path, OLD), state)
    return Setup(hq, state, server, config, tmp_path)


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    made = provision_kiosk(tmp_path, tmp_path / "state")
    yield made
    made.server.close()


def test_clean_update_then_manual_rollback(setup: Setup) -> None:
    setup.publish(NEW)
    agent = setup.agent()
    result = agent.sync_once()
    assert (result.ok, result.activated) == (True, ("demo=2.0.0",))
    assert setup.active() == NEW
    assert agent.watch() == ["confirmed demo 2.0.0"]
    assert agent.rollback("demo") == OLD
    assert setup.active() == OLD
    assert agent.sync_once().activated == ()  # the rolled-back version is not reinstalled
    assert setup.active() == OLD


def test_tampered_target_is_rejected(setup: Setup) -> None:
    setup.publish(NEW)
    archive = next((setup.hq.targets_dir / "demo").glob("*.tar"))
    data = bytearray(archive.read_bytes())
    data[600] ^= 0xFF
    archive.write_bytes(bytes(data))
    result = setup.agent().sync_once()
    assert result.rejected == ("demo=2.0.0",)
    assert setup.active() == OLD
    assert not list((setup.state / "sync" / "partial").glob("*"))


def test_replayed_old_timestamp_is_rejected(setup: Setup) -> None:
    old_timestamp = (setup.hq.metadata_dir / "timestamp.json").read_bytes()
    setup.publish(NEW)
    assert setup.agent().sync_once().ok
    setup.publish("3.0.0")
    (setup.hq.metadata_dir / "timestamp.json").write_bytes(old_timestamp)
    result = setup.agent().sync_once()
    assert not result.ok
    assert "rejected" in result.error
    assert setup.active() == NEW


def test_expired_timestamp_is_rejected(setup: Setup) -> None:
    setup.publish(NEW, timestamp_expires=datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1))
    result = setup.agent().sync_once()
    assert not result.ok
    assert "Expired" in result.error
    assert setup.active() == OLD


def test_mix_and_match_targets_metadata_is_rejected(setup: Setup) -> None:
    setup.publish(NEW)
    first = (setup.hq.metadata_dir / "1.targets.json").read_bytes()
    (setup.hq.metadata_dir / "2.targets.json").write_bytes(first)
    result = setup.agent().sync_once()
    assert not result.ok
    assert setup.active() == OLD


def test_oversized_target_is_cut_and_rejected(setup: Setup) -> None:
    setup.publish(NEW)
    setup.server.faults.extra = b"x" * 100_000
    result = setup.agent().sync_once()
    assert result.rejected == ("demo=2.0.0",)
    assert setup.active() == OLD


def test_stalled_server_times_out_and_keeps_partial(setup: Setup) -> None:
    setup.publish(NEW, size=50_000)
    setup.server.faults.stall_s = 2.0
    result = setup.agent().sync_once()
    assert not result.ok
    assert setup.active() == OLD
    partial = list((setup.state / "sync" / "partial").glob("*.part"))
    assert len(partial) == 1
    assert partial[0].stat().st_size == 1024


def test_cut_download_resumes_with_range(setup: Setup) -> None:
    setup.publish(NEW, size=200_000)
    setup.server.faults.cut_after = 100_000
    first = setup.agent().sync_once()
    assert not first.ok
    assert setup.active() == OLD
    setup.server.faults.cut_after = None
    second = setup.agent().sync_once()
    assert second.activated == ("demo=2.0.0",)
    assert setup.server.faults.ranges == ["bytes=100000-"]
    archive = next((setup.hq.targets_dir / "demo").glob("*.tar")).stat().st_size
    assert second.fetched_bytes == archive - 100_000


def test_runtime_failure_in_health_window_rolls_back(setup: Setup) -> None:
    from bundles.status import write_runtime_report

    setup.publish(NEW)
    agent = SyncAgent(setup.state, setup.config.model_copy(update={"health_window_s": 3600}))
    assert agent.sync_once().activated == ("demo=2.0.0",)
    assert agent.watch(time.time()) == []
    write_runtime_report(setup.state, "demo", NEW, False, "failed to load")
    assert agent.watch(time.time()) == ["rolled back demo 2.0.0"]
    assert setup.active() == OLD
    assert [e.event for e in sync_history(setup.state / "kiosk.db", limit=1)] == ["rolled_back"]


_CHILD = """
import os, signal, sys
from pathlib import Path
from sync.agent import SyncAgent, load_config
state = Path(sys.argv[1])
def hook(step, name):
    if step == sys.argv[2]:
        os.kill(os.getpid(), signal.SIGKILL)
agent = SyncAgent(state, load_config(state), on_step=hook)
agent.sync_once()
agent.watch()
"""


@pytest.mark.parametrize("step", [s for s in STEPS if s != "confirmed"], ids=str)
def test_kill_9_at_each_step_leaves_old_or_new(setup: Setup, step: str) -> None:
    setup.publish(NEW, size=100_000)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-c", _CHILD, str(setup.state), step], env=env, timeout=60, check=False)
    assert done.returncode == -signal.SIGKILL
    active = setup.active()
    assert active in {OLD, NEW}
    assert active == (NEW if step == "activated" else OLD)
    verify_bundle(setup.state / "active" / "demo")
    agent = setup.agent()
    agent.sync_once()
    agent.watch()
    assert setup.active() == NEW
    assert not (setup.state / "sync" / "staging").exists() or not any((setup.state / "sync" / "staging").iterdir())
    assert not list((setup.state / "bundles" / "demo").glob(".staging-*"))
    assert json.loads((setup.state / "sync" / "state.json").read_text())["bundles"]["demo"]["pending"] == ""


def test_nginx_serves_the_repository(setup: Setup, tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    setup.publish(NEW)
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    conf = tmp_path / "nginx.conf"
    # Workers must read the pytest tmp folder (0700): same user as the test.
    user = "user root;" if os.geteuid() == 0 else ""
    conf.write_text(
        f"""
{user}
daemon off;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/nginx-error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp_path}/body;
    proxy_temp_path {tmp_path}/proxy;
    fastcgi_temp_path {tmp_path}/fastcgi;
    uwsgi_temp_path {tmp_path}/uwsgi;
    scgi_temp_path {tmp_path}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {setup.hq.public};
    }}
}}
"""
    )
    proc = subprocess.Popen([nginx, "-c", str(conf), "-p", str(tmp_path)], stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        config = setup.config.model_copy(update={"metadata_url": f"{url}/metadata/", "targets_url": f"{url}/targets/"})
        result = SyncAgent(setup.state, config).sync_once()
        assert result.activated == ("demo=2.0.0",), result
        assert setup.active() == NEW
    finally:
        proc.terminate()
        proc.wait(timeout=10)
