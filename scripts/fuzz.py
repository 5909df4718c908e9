"""Fuzz what strangers reach and print how the inputs ended, per target (issue 16).

Targets: every HTTP endpoint of the kiosk app (customer page, runtime routes, avatar, admin page),
the turn (``Conversations.turn``), the policy loader, the WAV reader and the bundle unpacker.
A crash or a 500 stops the run with hypothesis's shrunk example (exit status 1).

    .venv/bin/python scripts/fuzz.py --examples 1000
    .venv/bin/python scripts/fuzz.py --examples 200 --only http,wav
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

TARGETS = ("http", "turn", "policy", "wav", "unpack")


def main() -> int:
    """Run the targets; one JSON line per target with its outcome counts."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=200, help="Generated inputs per target.")
    parser.add_argument("--only", default=",".join(TARGETS), help="Comma-separated targets.")
    args = parser.parse_args()
    wanted = [t for t in args.only.split(",") if t]
    unknown = set(wanted) - set(TARGETS)
    if unknown:
        parser.error(f"unknown targets: {', '.join(sorted(unknown))}")
    from fastapi.testclient import TestClient

    from kiosk.config import DEFAULT_POLICY_DIR, DEFAULT_SEED_DIR, Settings
    from kiosk.runtime import DevicesConfig, RuntimeConfig
    from kiosk.web import create_app
    from tests import fuzz_targets
    from tests.integration.admin_helpers import add_users, sign_in
    from tests.integration.runtime_helpers import kiosk_client

    failed = False
    with tempfile.TemporaryDirectory(prefix="kiosk-fuzz-") as tmp:
        config = RuntimeConfig(width=270, height=480, fps=5.0, speak=False, devices=DevicesConfig(camera="none"))
        settings = Settings(
            state_dir=Path(tmp) / "state",
            seed_dirs=(DEFAULT_POLICY_DIR, DEFAULT_SEED_DIR / "nlu"),
            use_llm=False,
            use_embedder=False,
            runtime=config,
        )
        app = create_app(settings)
        with kiosk_client(app):
            for target in wanted:
                started = time.perf_counter()
                try:
                    if target == "http":
                        add_users(settings.db_path)
                        staff = TestClient(app, base_url="http://127.0.0.1")
                        sign_in(staff, "sup")
                        counts = fuzz_targets.fuzz_http(app, args.examples, staff_cookies=dict(staff.cookies))
                    elif target == "turn":
                        counts = fuzz_targets.fuzz_turn(app.state.conversations, args.examples)
                    else:
                        counts = getattr(fuzz_targets, f"fuzz_{target}")(args.examples)
                except Exception as err:  # noqa: BLE001 - report the target's failure and go on
                    failed = True
                    print(json.dumps({"target": target, "failed": f"{type(err).__name__}: {err}"[:2000]}), flush=True)
                    continue
                print(
                    json.dumps(
                        {
                            "target": target,
                            "inputs": sum(counts.values()),
                            "crashes": 0,
                            "seconds": round(time.perf_counter() - started, 1),
                            "outcomes": dict(counts.most_common()),
                        },
                        ensure_ascii=False,
                    ),
                    flush=True,
                )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
