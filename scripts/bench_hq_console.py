"""How long the HQ console takes to compute its pages for a large fleet.

.venv/bin/python scripts/bench_hq_console.py [--kiosks 5000] [--days 30] [--intents 10] [--db sqlite|postgresql]

Fills a fresh store (SQLite file, or a private PostgreSQL started like
scripts/load_hq.py does) with one status report per kiosk and daily counts of
every kiosk, day, intent and language (zh, en), with risk alerts and the
elderly split, then times what the pages do: the KPI page (one grouped query,
tables per branch/intent/language and the fairness view) over the last 30 days
and over the last 7, the same page from cached totals (what the console does
within ``kpi_cache_s``), and the fleet page (every kiosk's report, online or not,
the summary). Prints the median of 3 runs of each and the load average.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sync.hq.console.fleetview import kiosk_rows, summary
from sync.hq.console.kpis import DIMENSIONS, fairness, kpi_rows, totals_query
from sync.hq.db import HqDB
from sync.hq.localpg import LocalPostgres
from sync.hq.schema import daily_counts, fleet_reports

LAST_DAY = date(2026, 11, 30)


def fill(engine: Any, kiosks: int, days: int, intents: int, seed: int = 7) -> int:
    """Reports and counts straight into the tables (bulk inserts); the number of count rows."""
    rng = random.Random(seed)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with engine.begin() as conn:
        conn.execute(
            fleet_reports.insert(),
            [
                {
                    "kiosk_id": f"k{k:05d}",
                    "branch": f"b{k // 4:04d}",
                    "versions": '{"nlu": "2.0", "policy": "1.1"}',
                    "healthy": int(rng.random() > 0.02),
                    "last_error": "",
                    "rejected": "{}",
                    "last_seen": now,
                }
                for k in range(kiosks)
            ],
        )
    rows = 0
    for d in range(days):
        day = (LAST_DAY - timedelta(days=d)).isoformat()
        batch = []
        for k in range(kiosks):
            for i in range(intents):
                for lang in ("zh", "en"):
                    turns = rng.randint(1, 40)
                    decided = rng.randint(0, turns)
                    clarified = rng.randint(0, turns - decided)
                    handed = turns - decided - clarified
                    elderly = rng.randint(0, turns // 3)
                    batch.append(
                        {
                            "kiosk_id": f"k{k:05d}",
                            "day": day,
                            "lang": lang,
                            "intent": f"intent_{i:02d}",
                            "turns": turns,
                            "decided": decided,
                            "clarified": clarified,
                            "handed_off": handed,
                            "received_at": now,
                            "risk_alerts": min(handed, rng.randint(0, 1)),
                            "elderly_turns": elderly,
                            "elderly_decided": min(elderly, decided),
                            "elderly_clarified": 0,
                            "elderly_handed_off": 0,
                            "elderly_risk_alerts": 0,
                        }
                    )
        with engine.begin() as conn:
            conn.execute(daily_counts.insert(), batch)
        rows += len(batch)
    return rows


def median_s(run: Callable[[], object], times: int = 3) -> float:
    spent = []
    for _ in range(times):
        start = time.perf_counter()
        run()
        spent.append(time.perf_counter() - start)
    return statistics.median(spent)


def read_totals(db: HqDB, days: int) -> list[dict[str, Any]]:
    since = (LAST_DAY - timedelta(days=days - 1)).isoformat()
    return db.read(totals_query(since, LAST_DAY.isoformat()))


def tables(totals: list[dict[str, Any]]) -> None:
    for by in DIMENSIONS:
        kpi_rows(totals, by)
    fairness(totals)


def kpi_page(db: HqDB, days: int) -> None:
    tables(read_totals(db, days))


def fleet_page(db: HqDB) -> None:
    rows = kiosk_rows(db.fleet(), datetime.now(UTC), 900)
    summary(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiosks", type=int, default=5000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--intents", type=int, default=10)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-hq-console-") as tmp:
        server = LocalPostgres() if args.db == "postgresql" else None
        try:
            url = server.create_database() if server else f"sqlite:///{Path(tmp) / 'hq.db'}"
            db = HqDB(url)
            engine = db._engine  # bulk filling, outside what HQ does
            start = time.perf_counter()
            rows = fill(engine, args.kiosks, args.days, args.intents)
            filled = time.perf_counter() - start
            print(f"store: {args.db}; {args.kiosks} kiosks, {rows} daily-count rows (filled in {filled:.0f} s)")
            if server:
                with engine.begin() as conn:
                    conn.exec_driver_sql("ANALYZE")
            print(
                f"KPI page, {args.days} days: {median_s(lambda: kpi_page(db, args.days)) * 1000:.0f} ms (median of 3)"
            )
            print(f"KPI page, 7 days: {median_s(lambda: kpi_page(db, 7)) * 1000:.0f} ms (median of 3)")
            totals = read_totals(db, args.days)
            print(
                f"KPI page from cached totals ({len(totals)} groups): "
                f"{median_s(lambda: tables(totals)) * 1000:.0f} ms (median of 3)"
            )
            print(f"fleet page, {args.kiosks} kiosks: {median_s(lambda: fleet_page(db)) * 1000:.0f} ms (median of 3)")
            db.close()
        finally:
            if server:
                server.stop()
    print("load average (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
