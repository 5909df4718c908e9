"""Load test of HQ: N simulated enrolled kiosks, each posting a signed status report once a minute.

.venv/bin/python scripts/load_hq.py [--kiosks 5000] [--minutes 2] [--db postgresql|sqlite]

Starts a private PostgreSQL (initdb + pg_ctl on a unix socket in a temporary
folder; see sync/hq/localpg.py) or uses an SQLite file, enrols the kiosks,
then runs the real ``kiosk hq serve --db-url …`` in its own process and sends
each kiosk's report at its own second of every minute (the fleet spread evenly),
signed as the agent signs (ed25519 envelope; pre-signed to keep the client
cheap). Open loop: latency is measured from each report's scheduled send time,
so a server that falls behind shows it. Prints requests/s, p50/p95/p99 latency,
errors by status, and the load average around the run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.envelope import public_key_text, seal
from sync.hq import HqRepository
from sync.hq.db import HqDB
from sync.hq.localpg import LocalPostgres

ROOT = Path(__file__).resolve().parents[1]
Plan = list[tuple[float, bytes, dict[str, str]]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def enrol(url: str, kiosks: int) -> list[Ed25519PrivateKey]:
    keys = [Ed25519PrivateKey.generate() for _ in range(kiosks)]
    db = HqDB(url)
    try:
        for i, key in enumerate(keys):
            db.enrol(f"k{i:05d}", public_key_text(key.public_key()))
    finally:
        db.close()
    return keys


def presign(keys: list[Ed25519PrivateKey], minutes: int, start: float) -> Plan:
    """Every report of the run, (scheduled time, body, headers), in time order."""
    plan: Plan = []
    n = len(keys)
    for minute in range(minutes):
        for i, key in enumerate(keys):
            at = start + minute * 60 + i * 60 / n
            kiosk_id = f"k{i:05d}"
            body = json.dumps(
                {"kiosk_id": kiosk_id, "branch": f"b{i % 200:03d}", "versions": {"nlu": "1.0.0"}, "healthy": True}
            ).encode()
            env = seal(key, kiosk_id, minute + 1, now=at, path="/api/report", body=body)
            plan.append((at, body, env.headers() | {"content-type": "application/json"}))
    plan.sort(key=lambda p: p[0])
    return plan


async def run(
    base: str, plan: list[tuple[float, bytes, dict[str, str]]], connections: int
) -> tuple[list[float], Counter[str]]:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    gate = asyncio.Semaphore(connections * 4)  # bounds the client's own backlog
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def one(at: float, body: bytes, headers: dict[str, str]) -> None:
            async with gate:
                try:
                    response = await client.post("/api/report", content=body, headers=headers)
                    statuses[str(response.status_code)] += 1
                except httpx.HTTPError as err:
                    statuses[type(err).__name__] += 1
                latencies.append(time.time() - at)

        tasks = []
        for at, body, headers in plan:
            delay = at - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(at, body, headers)))
        await asyncio.gather(*tasks)
    return latencies, statuses


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu(pg: LocalPostgres | None) -> dict[int, float]:
    """CPU seconds of the PostgreSQL server and each of its backends, by pid."""
    if pg is None:
        return {}
    master = int((pg.data / "postmaster.pid").read_text().split()[0])
    found = {master: cpu_seconds(master)}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == master:
                    found[int(entry.name)] = cpu_seconds(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue  # gone meanwhile
    return found


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiosks", type=int, default=5000)
    parser.add_argument("--minutes", type=int, default=2)
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--connections", type=int, default=32, help="Client connections (kiosks share them).")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="load-hq-"))
    home = HqRepository.init(work / "hq").home
    pg = LocalPostgres(max_connections=60) if args.db == "postgresql" else None
    server: subprocess.Popen[bytes] | None = None
    try:
        url = pg.create_database() if pg is not None else f"sqlite:///{work / 'hq.db'}"
        t0 = time.perf_counter()
        keys = enrol(url, args.kiosks)
        print(f"enrolled {args.kiosks} kiosks in {time.perf_counter() - t0:.1f} s ({args.db})")
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-c", "from kiosk.cli import main; main()", "hq", "serve", str(home),
             "--port", str(port), "--db-url", url],
            cwd=ROOT, env=os.environ | {"PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/login", timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("HQ server did not start") from None
                time.sleep(0.2)
        start = time.time() + 2
        plan = presign(keys, args.minutes, start)
        load_before = os.getloadavg()
        server_cpu, client_cpu, pg_cpu = cpu_seconds(server.pid), time.process_time(), postgres_cpu(pg)
        t0 = time.perf_counter()
        latencies, statuses = asyncio.run(run(base, plan, args.connections))
        elapsed = time.perf_counter() - t0
        load_after = os.getloadavg()
        server_cpu, client_cpu = cpu_seconds(server.pid) - server_cpu, time.process_time() - client_cpu
        db_cpu = sum(t - pg_cpu.get(pid, 0.0) for pid, t in postgres_cpu(pg).items())
        errors = {k: v for k, v in statuses.items() if k != "200"}
        check = HqDB(url)
        try:
            reported = len(check.fleet())
        finally:
            check.close()
        print(
            f"{args.db}: {len(latencies)} reports from {args.kiosks} kiosks over {args.minutes} min in {elapsed:.1f} s"
            f" = {len(latencies) / elapsed:.1f} req/s; latency from scheduled send p50 {pct(latencies, 0.5):.1f} ms,"
            f" p95 {pct(latencies, 0.95):.1f} ms, p99 {pct(latencies, 0.99):.1f} ms, max {max(latencies) * 1000:.0f} ms"
        )
        print(
            f"CPU per report: HQ server process {server_cpu / len(latencies) * 1000:.2f} ms, PostgreSQL"
            f" {db_cpu / len(latencies) * 1000:.2f} ms (0 for SQLite: in the server), load client"
            f" {client_cpu / len(latencies) * 1000:.2f} ms"
        )
        print(f"errors: {sum(errors.values())} {dict(errors) or ''}; kiosks in the fleet view: {reported}")
        print(f"load average (1/5/15 min) before {load_before[0]:.2f}/{load_before[1]:.2f}/{load_before[2]:.2f},"
              f" after {load_after[0]:.2f}/{load_after[1]:.2f}/{load_after[2]:.2f}; {os.cpu_count()} CPUs")  # fmt: skip
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        if pg is not None:
            pg.stop()


if __name__ == "__main__":
    main()
