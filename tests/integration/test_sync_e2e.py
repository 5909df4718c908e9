"""End to end on loopback: HQ publishes, a running kiosk's agent installs, `kiosk chat` quotes it."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from bundles.activation import active_manifest
from bundles.history import sync_history
from bundles.manifest import write_manifest
from kiosk.assembly import Health, provision
from kiosk.config import DEFAULT_POLICY_DIR, Settings

KIOSK = Path(sys.executable).parent / "kiosk"
OLD_USD_BUY = "709.52"
NEW_USD_BUY = "719.99"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def kiosk(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = subprocess.run([str(KIOSK), *args], capture_output=True, timeout=120, check=False, env=env)
    assert done.returncode == 0, done.stderr.decode()
    lines = done.stdout.decode().splitlines()
    return json.loads(lines[-1]) if lines else {}


def wait_for(what: str, check: Callable[[], bool], timeout: float = 60.0, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-3000:] if log is not None and log.exists() else ""
    pytest.fail(f"timed out waiting for {what}\n{tail}")


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback test server
            return bool(response.status == 200)
    except OSError:
        return False


def policy_with_usd_buy(tmp: Path, buy: str, version: str) -> Path:
    directory = tmp / f"policy-{version}"
    shutil.copytree(DEFAULT_POLICY_DIR, directory)
    rates = directory / "rates.yaml"
    rates.write_text(rates.read_text(encoding="utf-8").replace(f"buy: {OLD_USD_BUY}", f"buy: {buy}"), "utf-8")
    write_manifest(directory, name="policy", kind="policy", version=version)
    return directory


def broken_nlu(tmp: Path, nlu_bundle: Path, version: str) -> Path:
    """A well-formed, correctly signed NLU bundle whose golden cases fail (a regressed model)."""
    directory = tmp / f"nlu-{version}"
    shutil.copytree(nlu_bundle, directory)
    golden = directory / "golden.json"
    cases = json.loads(golden.read_text(encoding="utf-8"))
    for case in cases:
        case["intent"] = "smalltalk" if case["intent"] != "smalltalk" else "greeting"
    golden.write_text(json.dumps(cases, ensure_ascii=False), encoding="utf-8")
    write_manifest(directory, name="nlu", kind="nlu", version=version)
    return directory


class Chat:
    """A running `kiosk chat` process driven line by line."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [str(KIOSK), "chat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
        )

    def ask(self, session: str, text: str) -> dict[str, Any]:
        stdin, stdout = self.proc.stdin, self.proc.stdout
        assert stdin is not None
        assert stdout is not None
        stdin.write((json.dumps({"session": session, "text": text}, ensure_ascii=False) + "\n").encode())
        stdin.flush()
        return json.loads(_readline(stdout, timeout=60))

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def _readline(stream: IO[bytes], timeout: float) -> bytes:
    import selectors

    selector = selectors.DefaultSelector()
    selector.register(stream, selectors.EVENT_READ)
    if not selector.select(timeout):
        pytest.fail("kiosk chat did not answer in time")
    return stream.readline()


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        proc.terminate()
    for proc in started:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_hq_publishes_rate_and_broken_model_kiosk_keeps_answering(
    tmp_path: Path, nlu_bundle: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    hq, state = tmp_path / "hq", tmp_path / "state"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "KIOSK_STATE_DIR": str(state), "KIOSK_NO_LLM": "1"}
    env["PYTHONPATH"] = os.environ.get("PYTHONPATH", "")  # the code under test, also in a worktree
    provision(Settings(state_dir=state, seed_dirs=(DEFAULT_POLICY_DIR, nlu_bundle)), Health())
    seed_nlu = active_manifest(state, "nlu")
    assert seed_nlu is not None

    kiosk("hq", "init", str(hq), env=env)
    port = free_port()
    processes.append(subprocess.Popen([str(KIOSK), "hq", "serve", str(hq), "--port", str(port)], env=env))
    base = f"http://127.0.0.1:{port}"
    wait_for("HQ server", lambda: http_ok(f"{base}/metadata/1.root.json"))

    provisioned = kiosk(
        "sync", "init", str(hq / "signed" / "root.json"), "--url", base, "--kiosk-id", "kiosk-7", "--branch", "sh01",
        "--report-url", f"{base}/api/report", "--poll-s", "1", "--health-window-s", "1", "--max-backoff-s", "2",
        env=env,
    )  # fmt: skip
    kiosk("hq", "enrol", str(hq), "--kiosk-id", "kiosk-7", "--public-key", provisioned["public_key_file"], env=env)
    subprocess.run(
        [str(KIOSK), "hq", "add-user", str(hq), "ops", "--password-stdin"],
        input=b"operator-password-1\n", env=env, check=True, timeout=120, capture_output=True,
    )  # fmt: skip
    chat = Chat(env)
    try:
        assert OLD_USD_BUY in chat.ask("before", "美元汇率多少")["reply"]
        agent_log = (tmp_path / "agent.log").open("wb")
        processes.append(subprocess.Popen([str(KIOSK), "sync", "run"], env=env, stderr=agent_log))

        kiosk("hq", "add", str(hq), str(policy_with_usd_buy(tmp_path, NEW_USD_BUY, "2026.11.28-1")), env=env)
        kiosk("hq", "publish", str(hq), env=env)
        wait_for(
            "new policy active",
            lambda: getattr(active_manifest(state, "policy"), "version", "") == "2026.11.28-1",
            log=tmp_path / "agent.log",
        )
        reply = chat.ask("after", "What is the US dollar exchange rate?")
        assert NEW_USD_BUY in reply["reply"], reply
        assert reply["intent"] == "exchange_rate"

        kiosk("hq", "add", str(hq), str(broken_nlu(tmp_path, nlu_bundle, "2026.11.28-bad")), env=env)
        kiosk("hq", "publish", str(hq), env=env)
        wait_for(
            "broken model rejected",
            lambda: any(e.event == "rejected" and e.name == "nlu" for e in sync_history(state / "kiosk.db")),
        )
        active_nlu = active_manifest(state, "nlu")
        assert active_nlu is not None
        assert active_nlu.version == seed_nlu.version
        assert not (state / "bundles" / "nlu" / "2026.11.28-bad").exists()
        lost = chat.ask("later", "我的银行卡丢了")
        assert (lost["intent"], lost["stage"]) == ("card_lost", "model")
        assert NEW_USD_BUY in chat.ask("later2", "美元汇率多少")["reply"]
    finally:
        chat.close()

    operator = httpx.Client(base_url=base, timeout=5)
    assert operator.get("/api/fleet").status_code == 401
    token = re.search(r'name="csrf" value="([^"]+)"', operator.get("/login").text)
    assert token is not None
    signed_in = operator.post("/login", data={"username": "ops", "password": "operator-password-1", "csrf": token[1]})
    assert signed_in.status_code == 303
    wait_for("fleet report", lambda: bool(operator.get("/api/fleet").json()))
    fleet = operator.get("/api/fleet").json()
    assert fleet[0]["kiosk_id"] == "kiosk-7"
    assert fleet[0]["versions"]["policy"] == "2026.11.28-1"
    page = operator.get("/fleet").text
    operator.close()
    assert "kiosk-7" in page
    assert "2026.11.28-1" in page
    assert os.path.isdir(state / "sync")
