"""Voice benchmark: ASR real-time factor, end-of-speech latencies, time to first kiosk audio.

Usage: .venv/bin/python scripts/bench_voice.py [--turns 20] [--state-dir DIR] [--threads 2]

Test speech is made with espeak-ng (the kiosk's own TTS). Prints one table of
figures; nothing is asserted. Latencies are wall-clock on this machine:
- ASR real-time factor per engine and mode (compute time / audio time, median);
- end of speech -> final transcript: from the endpointer's end-of-utterance
  decision to the recogniser's final result;
- decision -> first audio sample: TTS of the reply's first sentence;
- end of customer speech -> first kiosk audio, p50/p95 over --turns voice turns
  (endpoint decision -> transcript -> dialogue engine -> first sentence ready).
  The endpointer decides after `end_silence_ms` (600 ms) of trailing silence;
  that wait is audio time, reported on its own line.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge_models.asr import AsrModels, Endpointer, compile_phrases  # noqa: E402
from edge_models.audio import SAMPLE_RATE, Pcm, convert, write_wav  # noqa: E402
from edge_models.tts import EspeakSynthesizer, TtsSettings  # noqa: E402

EN_TURNS = [
    "What is the dollar rate today?",
    "I need a queue ticket for the counter.",
    "I lost my bank card.",
    "How do I open a savings account?",
    "I forgot my PIN.",
    "What time do you close today?",
    "Can I talk to a real person?",
    "What is the euro rate?",
    "I want to apply for a credit card.",
    "Is there a fee for withdrawals?",
]
ZH_TURNS = ["我的银行卡丢了", "我要取号", "今天美元汇率多少", "我想开一个账户", "密码忘了怎么办"]
KO_PHRASES = ("번호표 주세요", "계좌 개설", "카드 분실", "안녕하세요")


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def speech16k(synth: EspeakSynthesizer, text: str, lang: str) -> Pcm:
    speech = synth.synthesize(text, lang)
    return convert(speech.pcm.samples.astype(np.float64) / 32768.0, speech.pcm.rate, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--state-dir", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="bench-voice-")
    state = args.state_dir or Path(tmp.name) / "state"
    rows: list[tuple[str, str]] = []

    t0 = time.perf_counter()
    models = AsrModels(state, threads=args.threads)
    whisper = models.engine_for("en")
    rows.append(("whisper bundle build (first use) + load", f"{time.perf_counter() - t0:.2f} s"))
    t0 = time.perf_counter()
    vosk = models.engine_for("ko", grammar=True)
    rows.append(("vosk-ko bundle build (first use) + verify + load", f"{time.perf_counter() - t0:.2f} s"))

    en = EspeakSynthesizer(TtsSettings(rate_wpm=130))
    zh = EspeakSynthesizer(TtsSettings(rate_wpm=110))
    cases = [
        ("faster-whisper open, en", whisper, "en", None, [speech16k(en, t, "en") for t in EN_TURNS[:5]]),
        ("faster-whisper open, zh", whisper, "zh", None, [speech16k(zh, t, "zh") for t in ZH_TURNS[:3]]),
        (
            "vosk grammar, ko",
            vosk,
            "ko",
            compile_phrases(KO_PHRASES, "ko"),
            [speech16k(en, t, "ko") for t in KO_PHRASES],
        ),
        ("vosk open, ko", vosk, "ko", None, [speech16k(en, t, "ko") for t in KO_PHRASES[:2]]),
    ]
    for label, engine, lang, grammar, clips in cases:
        rtfs = [engine.transcribe(pcm, lang, grammar).rtf for pcm in clips]
        rows.append((f"ASR real-time factor, {label}", f"median {statistics.median(rtfs):.3f} over {len(rtfs)} clips"))

    # End of speech -> final transcript, streaming through the endpointer (as the kiosk listens).
    from hardware.audio import WavFileMicrophone
    from kiosk.cli_voice import listen

    clips_dir = Path(tmp.name) / "clips"
    for label, engine, lang, synth, texts in (
        ("faster-whisper en", whisper, "en", en, EN_TURNS[:5]),
        ("vosk ko (grammar-free streaming)", vosk, "ko", en, list(KO_PHRASES)),
    ):
        finals = []
        for i, text in enumerate(texts):
            path = clips_dir / f"{lang}-{i}.wav"
            speech = synth.synthesize(text, lang)
            write_wav(path, speech.pcm)
            heard = listen(WavFileMicrophone(path), engine, lang, Endpointer())
            finals.append(heard.asr_ms)
        rows.append(
            (
                f"end of speech -> final transcript, {label}",
                f"p50 {pct(finals, 50):.0f} ms, p95 {pct(finals, 95):.0f} ms",
            )
        )

    # Decision -> first audio sample (first sentence of typical replies).
    tts = EspeakSynthesizer()
    replies = [
        ("en", "US dollar: we buy at 709.52 and sell at 712.48 yuan per 100 US dollar. The counter confirms the rate."),
        (
            "zh",
            "请立即挂失：拨打24小时客服热线95599-0000，或马上在手机银行中冻结该卡。挂失后请携带本人有效身份证件到柜台办理。",
        ),
    ]
    firsts = []
    for _ in range(10):
        for lang, text in replies:
            started = time.perf_counter()
            next(iter(tts.sentences(text, lang)))
            firsts.append((time.perf_counter() - started) * 1000)
    rows.append(("decision -> first audio sample (TTS)", f"p50 {pct(firsts, 50):.1f} ms, p95 {pct(firsts, 95):.1f} ms"))

    # Full voice turns through the dialogue engine.
    from kiosk.assembly import build_engine
    from kiosk.config import DEFAULT_POLICY_DIR, DEFAULT_SEED_DIR, Settings
    from kiosk.conversation import Conversations
    from kiosk.store import Store

    seeds = tuple(p for p in (DEFAULT_POLICY_DIR, DEFAULT_SEED_DIR / "nlu") if (p / "manifest.json").is_file())
    settings = Settings(state_dir=state, seed_dirs=seeds)
    store = Store(settings.db_path)
    engine, health = build_engine(settings, tickets=store)
    conversations = Conversations(engine, store)
    from kiosk.cli_voice import voice_turns

    turn_dir = Path(tmp.name) / "turns"
    texts = [(t, "en") for t in EN_TURNS] + [(t, "zh") for t in ZH_TURNS]
    files = []
    for i in range(args.turns):
        text, lang = texts[i % len(texts)]
        path = turn_dir / f"{i:03d}.{lang}.wav"
        write_wav(path, (en if lang == "en" else zh).synthesize(text, lang).pcm)
        files.append(path)
    totals, asr_ms, decide_ms, correct = [], [], [], 0
    for result in voice_turns(conversations, whisper, tts, files, Path(tmp.name) / "replies"):
        timings = result["timings_ms"]
        totals.append(timings["end_of_speech_to_audio"])
        asr_ms.append(timings["asr"])
        decide_ms.append(timings["decide"])
        correct += result["action"] != "clarify"
    store.close()
    rows.append(
        (
            f"end of customer speech -> first kiosk audio ({len(totals)} turns, en+zh, whisper)",
            f"p50 {pct(totals, 50):.0f} ms, p95 {pct(totals, 95):.0f} ms "
            f"(asr p50 {pct(asr_ms, 50):.0f}, decide p50 {pct(decide_ms, 50):.1f}); "
            f"{correct}/{len(totals)} turns acted on, not clarified",
        )
    )
    rows.append(("endpointing wait (trailing silence, audio time)", f"{Endpointer().settings.end_silence_ms:.0f} ms"))
    rows.append(("intent model", health.nlu_version if seeds else "rules only (no NLU bundle built)"))
    tmp.cleanup()

    width = max(len(k) for k, _ in rows)
    print(f"voice benchmark ({SAMPLE_RATE} Hz, whisper threads={args.threads})")
    for key, value in rows:
        print(f"  {key.ljust(width)}  {value}")


if __name__ == "__main__":
    main()
