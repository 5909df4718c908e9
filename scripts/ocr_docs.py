"""Pictures of the ID card flow for the README: a generated sample card, the same card as a
degraded camera view, and the kiosk's screen after it read the card (reply and form buttons).

    SDL_VIDEODRIVER=dummy SDL_AUDIODRIVER=dummy .venv/bin/python scripts/ocr_docs.py --out docs/ocr
"""

from __future__ import annotations

import argparse
import io
import json
import random
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from edge_models.build.id_cards import camera_view, draw_card, random_person
from edge_models.build.train_intent import build
from kiosk.config import DEFAULT_POLICY_DIR, DEFAULT_SEED_DIR, Settings
from kiosk.runtime import DevicesConfig, RuntimeConfig
from kiosk.web import create_app
from kiosk.web.trust import DEVICE_HEADER

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    """Write the pictures and the form the kiosk filled in (JSON)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("docs/ocr"))
    ap.add_argument("--seed", type=int, default=4)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    person = random_person(rng)
    draw_card(person).save(args.out / "sample-card.png")
    held = camera_view(person, "rotation", rng)
    held.save(args.out / "sample-card-rotated.png")
    with tempfile.TemporaryDirectory() as tmp:
        nlu = DEFAULT_SEED_DIR / "nlu"
        if not (nlu / "manifest.json").is_file():
            nlu = Path(tmp) / "nlu"
            build(ROOT / "edge_models" / "data", nlu, origin="seed")
        config = RuntimeConfig(speak=False, devices=DevicesConfig(printer="none", card_reader="none"))
        settings = Settings(state_dir=Path(tmp) / "state", seed_dirs=(DEFAULT_POLICY_DIR, nlu), use_llm=False,
                            runtime=config)  # fmt: skip
        app = create_app(settings)
        with TestClient(app, base_url="http://127.0.0.1", headers={DEVICE_HEADER: app.state.device_token}) as client:
            client.post("/api/kiosk/input", json={"text": "我想开户"})
            checklist = client.post("/api/kiosk/input", json={"button": "slot:account_open:resident"}).json()
            _frame_when(client, checklist["reply"], args.out / "kiosk-checklist.png")
            buf = io.BytesIO()
            held.save(buf, format="PNG")
            read = client.post(
                "/api/kiosk/idcard", content=buf.getvalue(), headers={"content-type": "image/png"}
            ).json()
            (args.out / "form.json").write_text(
                json.dumps(read["id_form"], ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
            )
            _frame_when(client, read["reply"], args.out / "kiosk-form.png")
    print(f"wrote {args.out}/sample-card.png, sample-card-rotated.png, kiosk-checklist.png, kiosk-form.png, form.json")


def _frame_when(client: TestClient, said: str, path: Path) -> None:
    """Save the avatar screen once it shows ``said`` (the render loop draws it within a few frames)."""
    deadline = time.monotonic() + 30
    while client.get("/api/kiosk/state").json()["screen"]["said"] != said and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)  # a few frames: the subtitle and buttons are drawn
    path.write_bytes(client.get("/avatar/frame.png").content)


if __name__ == "__main__":
    main()
