"""Load check of the admin page: 50 staff clients polling the dashboard while the kiosk serves turns.

Starts `kiosk run` on a free port with a temporary state, signs one supervisor
in, then measures the kiosk's turn latency (round trip of /api/turn and the
engine's own latency) without load and with N clients polling /admin/ and
/admin/api/status as fast as they can. Prints the figures.

    .venv/bin/python scripts/bench_admin.py [--clients 50] [--turns 60]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TEXTS = [
    "I need a queue ticket",
    "今天美元汇率多少",
    "my card was stolen",
    "你们几点关门",
    "what's the euro rate today",
]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


async def turns(base: str, n: int) -> tuple[list[float], list[float]]:
    round_trip, engine = [], []
    async with httpx.AsyncClient(timeout=30) as client:
        await client.get(f"{base}/kiosk")  # on this machine the kiosk page hands out the device cookie
        for i in range(n):
            started = time.perf_counter()
            r = await client.post(f"{base}/api/turn", json={"session": f"bench-{i}", "text": TEXTS[i % len(TEXTS)]})
            round_trip.append((time.perf_counter() - started) * 1000)
            engine.append(float(r.json()["latency_ms"]))
    return round_trip, engine


async def poller(base: str, cookies: httpx.Cookies, stop: asyncio.Event, times: list[float], errors: list[int]) -> None:
    async with httpx.AsyncClient(timeout=30, cookies=cookies) as client:
        while not stop.is_set():
            for path in ("/admin/", "/admin/api/status"):
                started = time.perf_counter()
                r = await client.get(f"{base}{path}")
                if path == "/admin/":
                    times.append((time.perf_counter() - started) * 1000)
                if r.status_code != 200:
                    errors.append(r.status_code)


def sign_in(base: str) -> httpx.Cookies:
    with httpx.Client(timeout=30, follow_redirects=True) as client:
        form = client.get(f"{base}/admin/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        if csrf is None:
            raise SystemExit("the sign-in page has no CSRF field")
        r = client.post(
            f"{base}/admin/login",
            data={"username": "bench", "password": "bench password", "csrf": csrf.group(1)},
        )
        if r.status_code != 200 or "Sign out" not in r.text:
            raise SystemExit(f"sign-in failed: {r.status_code}")
        return client.cookies


async def main_async(base: str, clients: int, n_turns: int) -> None:
    await turns(base, 5)  # warm up
    idle_rt, idle_engine = await turns(base, n_turns)
    cookies = sign_in(base)
    stop = asyncio.Event()
    page_times: list[float] = []
    errors: list[int] = []
    tasks = [asyncio.create_task(poller(base, cookies, stop, page_times, errors)) for _ in range(clients)]
    await asyncio.sleep(1.0)
    load_rt, load_engine = await turns(base, n_turns)
    stop.set()
    await asyncio.gather(*tasks)
    print(f"clients polling the dashboard: {clients}; turns per phase: {n_turns}")
    p50, p95 = pct(page_times, 0.5), pct(page_times, 0.95)
    print(f"dashboard page: {len(page_times)} loads, p50 {p50:.1f} ms, p95 {p95:.1f} ms, errors {len(errors)}")
    print(f"turn round trip  without load: p50 {pct(idle_rt, 0.5):.1f} ms, p95 {pct(idle_rt, 0.95):.1f} ms")
    print(f"turn round trip  with load:    p50 {pct(load_rt, 0.5):.1f} ms, p95 {pct(load_rt, 0.95):.1f} ms")
    print(f"engine latency   without load: p50 {pct(idle_engine, 0.5):.2f} ms, p95 {pct(idle_engine, 0.95):.2f} ms")
    print(f"engine latency   with load:    p50 {pct(load_engine, 0.5):.2f} ms, p95 {pct(load_engine, 0.95):.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--turns", type=int, default=60)
    args = parser.parse_args()
    from kiosk.admin.accounts import AdminDB

    kiosk = str(Path(sys.executable).parent / "kiosk")
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state"
        db = AdminDB(state / "kiosk.db")
        db.create_user("bench", "bench password", "supervisor")
        db.close()
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        proc = subprocess.Popen(
            [kiosk, "run", "--port", str(port), "--state-dir", str(state)], stderr=subprocess.DEVNULL
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            asyncio.run(main_async(base, args.clients, args.turns))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
