"""The soak script, shortened for CI: simulated customers through the whole runtime, nothing crashes or is left open.

The two-hour run is `scripts/soak.py --minutes 120` (figures in the README); this one runs it for a minute.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.fakes import ROOT


def test_a_minute_of_customers_through_the_whole_kiosk(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "soak.py"), "--minutes", "1", "--sample-s", "5", "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(out.read_text())
    # Every customer walked up (presence started the session) and away (presence ended it).
    assert report["customers"] >= 6
    assert report["visit_errors"] == []
    assert report["sessions_closed"] >= report["customers"]
    assert report["sessions_open"] == 0
    assert report["restarts"] == 0
    # The scenarios' side effects happened: tickets printed, a fraud warning, a hand-off.
    assert report["tickets_printed"] >= 1
    assert report["actions"].get("risk_alert", 0) >= 1
    assert report["actions"].get("handoff", 0) >= 1
    assert len(report["samples"]) >= 3
    assert all(s["rss_mb"] > 0 and s["open_files"] > 0 for s in report["samples"])
    assert "turn latency p50" in proc.stdout
