"""`kiosk run` beyond loopback: a warning, HTTPS with a self-signed certificate, Secure cookies; proxy headers
believed from nobody unless a setting names the proxy (issue 16)."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from kiosk.config import DEFAULT_POLICY_DIR, Settings
from kiosk.web.tls import ensure_self_signed
from tests.integration.runtime_helpers import device_headers

KIOSK = str(Path(sys.executable).parent / "kiosk")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(state: Path, port: int, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "KIOSK_STATE_DIR": str(state)}
    return subprocess.Popen(
        [KIOSK, "run", "--port", str(port), *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def wait_up(proc: subprocess.Popen[bytes], url: str, **kwargs: object) -> None:
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(url, timeout=2, **kwargs).status_code == 200:  # type: ignore[arg-type]
                return
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert time.monotonic() < deadline, "kiosk run did not come up"
        time.sleep(0.3)


def stop(proc: subprocess.Popen[bytes]) -> str:
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    return err.decode()


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory, nlu_bundle: Path) -> Path:
    from kiosk.assembly import Health, provision

    state = tmp_path_factory.mktemp("serving") / "state"
    provision(Settings(state_dir=state, seed_dirs=(DEFAULT_POLICY_DIR, nlu_bundle)), Health())
    return state


def test_binding_beyond_loopback_warns_and_serves_https_only(state: Path) -> None:
    port = free_port()
    proc = start(state, port, "--host", "0.0.0.0")  # noqa: S104 - the probe's reproduction
    cert = state / "tls" / "cert.pem"
    try:
        deadline = time.monotonic() + 60
        while not cert.is_file():
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline
            time.sleep(0.2)
        base = f"https://127.0.0.1:{port}"
        verify = ssl.create_default_context(cafile=str(cert))  # the self-signed certificate names 127.0.0.1
        wait_up(proc, f"{base}/healthz", verify=verify)
        assert (state / "tls" / "key.pem").stat().st_mode & 0o777 == 0o600
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)  # no plain HTTP
        page = httpx.get(f"{base}/kiosk", verify=verify, timeout=10)  # the kiosk's own browser, on loopback
        assert "Secure" in page.headers["set-cookie"]
        assert "HttpOnly" in page.headers["set-cookie"]
        login = httpx.get(f"{base}/admin/login", verify=verify, timeout=10)
        assert "Secure" in login.headers["set-cookie"]  # the admin page's cookies too
        state_json = httpx.get(f"{base}/api/kiosk/state", verify=verify, headers=device_headers(state), timeout=10)
        assert state_json.status_code == 200
        assert httpx.get(f"{base}/api/kiosk/state", verify=verify, timeout=10).status_code == 401
    finally:
        stderr = stop(proc)
    assert "WARNING" in stderr
    assert "0.0.0.0" in stderr  # noqa: S104 - the bind address named in the warning
    assert "https://" in stderr


def test_forwarded_for_is_not_believed_without_a_trusted_proxy(state: Path) -> None:
    """The sign-in limit counts the real peer: a new X-Forwarded-For per try does not reset it."""
    port = free_port()
    proc = start(state, port)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_up(proc, f"{base}/healthz")
        statuses = []
        for i in range(12):
            with httpx.Client(base_url=base, timeout=10) as client:
                form = client.get("/admin/login").text
                csrf = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
                answer = client.post(
                    "/admin/login",
                    data={"username": "nobody", "password": "wrong password", "csrf": csrf},
                    headers={"X-Forwarded-For": f"10.0.0.{i}", "X-Real-IP": f"10.0.0.{i}"},
                )
                statuses.append(answer.status_code)
        assert statuses[-1] == 429, statuses
        # Nor does a forwarded request from loopback get the kiosk screen's cookie.
        page = httpx.get(f"{base}/kiosk", headers={"X-Forwarded-For": "192.168.1.66"}, timeout=10)
        assert "set-cookie" not in page.headers
    finally:
        stop(proc)


def test_a_self_signed_certificate_is_made_once(tmp_path: Path) -> None:
    from cryptography import x509

    first = ensure_self_signed(tmp_path, ["kiosk-7.local", "192.168.1.20", "127.0.0.1"])
    made = first[0].read_bytes()
    assert ensure_self_signed(tmp_path, ["other"]) == first
    assert first[0].read_bytes() == made  # reused, not remade
    cert = x509.load_pem_x509_certificate(made)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "kiosk-7.local" in names.get_values_for_type(x509.DNSName)
    assert [str(a) for a in names.get_values_for_type(x509.IPAddress)] == ["192.168.1.20", "127.0.0.1"]
