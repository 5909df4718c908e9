"""`kiosk sync tuf-client` (tuf-conformance CLIENT-CLI) and HQ key thresholds, for real."""

from __future__ import annotations

import functools
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bundles.manifest import write_manifest
from sync.errors import HqError
from sync.hq import HqRepository, RoleKeys

KIOSK = Path(sys.executable).parent / "kiosk"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[tuple[HqRepository, str]]:
    hq = HqRepository.init(tmp_path / "hq")
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "data.txt").write_text("v1")
    write_manifest(bundle, name="demo", kind="policy", version="1")
    hq.add(bundle)
    hq.publish()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(hq.public)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield hq, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def tuf_client(metadata_dir: Path, *args: str) -> int:
    cmd = [str(KIOSK), "sync", "tuf-client", "--metadata-dir", str(metadata_dir), *args]
    return subprocess.run(cmd, capture_output=True, timeout=60, check=False).returncode


def test_conformance_cli_init_refresh_download(repo: tuple[HqRepository, str], tmp_path: Path) -> None:
    hq, url = repo
    meta, targets = tmp_path / "meta", tmp_path / "targets"
    root = tmp_path / "root.json"
    hq.export_root(root)
    assert tuf_client(meta, "init", str(root)) == 0
    assert tuf_client(meta, "--metadata-url", f"{url}/metadata", "refresh") == 0
    assert {p.name for p in meta.glob("*.json")} >= {"root.json", "timestamp.json", "snapshot.json", "targets.json"}
    download = [
        "--metadata-url", f"{url}/metadata", "--target-name", "demo/1.tar",
        "--target-base-url", f"{url}/targets", "--target-dir", str(targets), "download",
    ]  # fmt: skip
    assert tuf_client(meta, *download) == 0
    assert (targets / "demo%2F1.tar").stat().st_size > 0
    assert tuf_client(meta, *download) == 0  # cached
    missing = [*download[:3], "demo/none.tar", *download[4:]]
    assert tuf_client(meta, *missing) == 1
    (hq.metadata_dir / "timestamp.json").write_text("{not json")
    assert tuf_client(meta, "--metadata-url", f"{url}/metadata", "refresh") == 1


def test_targets_threshold_needs_enough_offline_keys(tmp_path: Path) -> None:
    offline = tmp_path / "offline"
    hq = HqRepository.init(tmp_path / "hq", keys={"targets": RoleKeys(2, 2)}, offline_keys=offline)
    bundle = tmp_path / "b"
    bundle.mkdir()
    (bundle / "x.txt").write_text("x")
    write_manifest(bundle, name="demo", kind="policy", version="1")
    hq.add(bundle)
    import json

    root = json.loads(hq.root_bytes())
    assert root["signed"]["roles"]["targets"]["threshold"] == 2
    (offline / f"{root['signed']['roles']['targets']['keyids'][0]}.pem").rename(tmp_path / "away.pem")
    with pytest.raises(HqError, match="signing key"):
        HqRepository(tmp_path / "hq", offline_keys=offline).publish()
