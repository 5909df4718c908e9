"""ID card OCR figures on generated sample cards: field accuracy, whole-card
accuracy and time per card, on clean cards and on each degradation.

    .venv/bin/python scripts/bench_ocr.py --n 50 --seed 7
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import date

import numpy as np

from edge_models.build.id_cards import DEGRADATIONS, camera_view, random_person
from edge_models.vision.ocr import TextReader
from kiosk.idcard import FIELDS, IdCardRead, parse_front


def main() -> None:
    """Print one row per condition."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50, help="cards per condition")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    reader = TextReader(threads=args.threads)
    rng = random.Random(args.seed)
    people = [random_person(rng) for _ in range(args.n)]
    print(f"{'condition':<10} {'fields':>8} {'cards':>8} {'read':>6} {'p50 ms':>8} {'p95 ms':>8}  field misses")
    for deg in [None, *DEGRADATIONS]:
        right = cards = read = 0
        times: list[float] = []
        misses: dict[str, int] = {}
        for person in people:
            rgb = np.asarray(camera_view(person, deg, rng).convert("RGB"), dtype=np.uint8)
            t0 = time.perf_counter()
            result = parse_front(reader.read(rgb), today=date(2026, 12, 1))
            times.append((time.perf_counter() - t0) * 1000)
            truth = {
                "name": person.name,
                "sex": person.sex,
                "ethnicity": person.ethnicity,
                "birth": person.birth.isoformat(),
                "address": person.address,
                "id_number": person.id_number,
            }
            got = (
                {k: str(v) for k, v in result.fields.model_dump().items()}
                if isinstance(result, IdCardRead)
                else dict(result.partial)
            )
            ok = [f for f in FIELDS if got.get(f) == truth[f]]
            for f in FIELDS:
                if f not in ok:
                    misses[f] = misses.get(f, 0) + 1
            right += len(ok)
            cards += len(ok) == len(FIELDS)
            read += isinstance(result, IdCardRead)
        n = len(people)
        p95 = statistics.quantiles(times, n=20)[18] if n > 1 else times[0]
        print(
            f"{deg or 'clean':<10} {right / (n * len(FIELDS)):>8.1%} {cards / n:>8.1%} {read / n:>6.0%} "
            f"{statistics.median(times):>8.0f} {p95:>8.0f}  {misses or '-'}"
        )


if __name__ == "__main__":
    main()
