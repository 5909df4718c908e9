"""The learning loop's time: from the last staff label at kiosk A to kiosk B answering the new service.

.venv/bin/python scripts/bench_loop.py [--labels 160] [--full-grid]

Runs the path of tests/integration/test_learning_loop.py on loopback (a real
HQ server on a free port, two kiosks with their engines and sync agents):
staff at kiosk A label utterances of the digital RMB wallet service, the
agent uploads them signed, HQ accepts them, ``kiosk hq train --publish``
retrains, gates and starts a 5% -> 25% -> 100% rollout at A's canary branch,
A installs and answers, ``kiosk hq rollout advance`` widens on A's healthy
reports, B installs and answers. Agents poll when the loop says so: add the
agents' poll interval (default 300 s, ``kiosk sync init --poll-s``) per stage
and HQ's review time for a fleet. The base training data is the small test set
(40 lines per intent file and language); ``--full-grid`` searches the
regularisation strength like a production retrain instead of one value.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=160, help="Utterances staff label at kiosk A.")
    parser.add_argument("--full-grid", action="store_true", help="Search the regularisation strength (slower).")
    args = parser.parse_args()
    os.environ.setdefault("KIOSK_NO_LLM", "1")
    from tests.integration import learning_loop

    with tempfile.TemporaryDirectory(prefix="bench-loop-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        base = learning_loop.small_base(work / "base")
        print(f"setup: small base model built in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        result = learning_loop.run_loop(
            work / "loop", base, labels=args.labels, c_grid="" if args.full_grid else "40", log=print
        )
    b = result.answers["b_fleet"]
    print(
        json.dumps(
            {
                "labels": result.labelled,
                "b_answers": b["intent"] == learning_loop.NEW,
                "rollout": [f"{s['action']} {s['percent']}%" for s in result.rollout],
                "seconds": {k: round(v, 2) for k, v in result.seconds.items()},
                "load_avg_1m": round(os.getloadavg()[0], 1),
            },
            ensure_ascii=False,
        )
    )
    print(f"last label at kiosk A -> kiosk B answering: {result.seconds['last_label_to_b_answering']:.1f} s")


if __name__ == "__main__":
    main()
