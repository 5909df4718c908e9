"""Speed and memory of the model stack, in one run.

    .venv/bin/python scripts/bench_models.py [--turns 200]

Prints: LLM tokens/s and time to first token through our adapter and through
bare llama-cpp-python with the same settings (and their ratio); p50/p95 of a
turn's understanding without and with the LLM stage; the intent model's
int8/fp32 latency; resident memory after loading the stack; and the MiniLM
embedder's int8/fp32 latency and size when its bundle has been built; and
LLM answers composed from the FAQ passages (issue 3, use 2): p50/p95 of a
compose call and how often the draft was shown vs the passage (and why),
asked each FAQ entry's English question with the shipped policy's checks.

    .venv/bin/python scripts/bench_models.py --only compose   # just that part
    .venv/bin/python scripts/bench_models.py --only llm --turns 40 --compose-questions 20

``--only llm`` prints the LLM's figures alone (issue 12): adapter vs bare
llama-cpp-python on the same prompt (goal >= 0.95x), label choice and composed
answers (p50/p95, with the prefix cache; how many calls reused a saved prefix),
and the machine's load average. ``--bundle`` measures another LLM bundle (e.g. the
0.5B built with ``llm_bundle --model qwen0.5b``).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from edge_models.normalize import Normalizer
from kiosk.assembly import build_engine
from kiosk.config import DEFAULT_SEED_DIR, Settings

ROOT = Path(__file__).resolve().parents[1]
PROMPT_WORDS = "The customer asked about opening a savings account and what documents to bring. " * 12


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def pct(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
        "max_ms": round(ordered[-1], 2),
    }


def generation(llm: Any, prompt: str, max_tokens: int) -> tuple[float, float]:
    """(time to first token in s, tokens per second after it) for one streamed completion."""
    started = time.perf_counter()
    first = None
    count = 0
    for _ in llm.create_completion(prompt, max_tokens=max_tokens, temperature=0.0, stream=True):
        count += 1
        if first is None:
            first = time.perf_counter()
    end = time.perf_counter()
    if first is None:
        raise RuntimeError("the model produced no token")
    return first - started, (count - 1) / max(end - first, 1e-9)


def bench_llm(bundle: Path, threads: int, rounds: int) -> dict[str, Any]:
    from llama_cpp import Llama

    from edge_models.llm import LlamaModel, LlmConfig

    ours = LlamaModel(bundle, LlmConfig(threads=threads, context=1024, budget_s=60))
    prompt = ours.prompt("You are a helpful bank assistant.", PROMPT_WORDS + "Summarise this.")
    bare = Llama(
        model_path=str(bundle / "model.gguf"),
        n_ctx=1024,
        n_threads=threads,
        n_threads_batch=threads,
        logits_all=True,
        seed=0,
        verbose=False,
    )
    results: dict[str, list[tuple[float, float]]] = {"adapter": [], "bare": []}
    for _ in range(rounds):
        for name, llm in (("adapter", ours._llm), ("bare", bare)):
            llm.reset()  # type: ignore[no-untyped-call]
            results[name].append(generation(llm, prompt, 64))
    # The adapter's own call path (grammar-free completion with its budget check), end to end:
    started = time.perf_counter()
    out = ours.complete(prompt, max_tokens=64)
    adapter_call_s = time.perf_counter() - started
    tokens = out["usage"]["completion_tokens"]

    def summary(rows: list[tuple[float, float]]) -> dict[str, float]:
        return {
            "ttft_s": round(statistics.median(r[0] for r in rows), 3),
            "tokens_per_s": round(statistics.median(r[1] for r in rows), 1),
        }

    a, b = summary(results["adapter"]), summary(results["bare"])
    return {
        "prompt_tokens": len(bare.tokenize(prompt.encode())),
        "adapter": a,
        "bare": b,
        "ratio_tokens_per_s": round(a["tokens_per_s"] / b["tokens_per_s"], 3),
        "adapter_complete_call": {"seconds": round(adapter_call_s, 3), "tokens": tokens},
    }


def bench_turns(texts: list[str], use_llm: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as state:
        settings = Settings(state_dir=Path(state), use_llm=use_llm)
        engine, health = build_engine(settings)
        if use_llm:
            # The default policy keeps the 135M model's stage off (llm: 1.0); measure its cost when on.
            engine.understander._thresholds = engine.understander._thresholds.model_copy(update={"llm": 0.5})
        samples = []
        stages: dict[str, int] = {}
        for text in texts:
            started = time.perf_counter()
            _, u = engine.understand(text)
            samples.append((time.perf_counter() - started) * 1000)
            stages[u.stage] = stages.get(u.stage, 0) + 1
        return {**pct(samples), "stages": stages, "llm": health.llm_version, "rss_mb": rss_mb()}


def bench_label_choice(bundle: Path, threads: int, texts: list[str]) -> dict[str, Any]:
    """Latency of the turns where the LLM chose the label, with the shipped policy (per-script thresholds).

    The real engine decides when to ask the LLM (the intent model's top candidates
    are the menu); a menu seen before is read from its saved KV state.
    """
    from edge_models.llm import LlamaModel, LlmConfig
    from kiosk.dialogue.breaker import CircuitBreaker
    from kiosk.llm_stage import LlmStage

    with tempfile.TemporaryDirectory() as state:
        engine, _ = build_engine(Settings(state_dir=Path(state), use_llm=False))
        model = LlamaModel(bundle, LlmConfig(threads=threads, budget_s=120.0))
        stage = LlmStage(model, {}, CircuitBreaker(failures=10_000))
        engine.understander._llm = stage
        asked: list[float] = []
        others: list[float] = []
        stages: dict[str, int] = {}
        for text in texts:
            calls = stage.calls
            started = time.perf_counter()
            _, u = engine.understand(text)
            elapsed = (time.perf_counter() - started) * 1000
            (asked if stage.calls > calls else others).append(elapsed)
            stages[u.stage] = stages.get(u.stage, 0) + 1
        return {
            "texts": len(texts),
            "llm_asked": len(asked),
            "llm_turn": pct(asked) if asked else "LLM never asked",
            "other_turn": pct(others) if others else "every turn asked the LLM",
            "prefix_hits": model.prefix_hits,
            "stages": stages,
            "thresholds": engine.policy.thresholds.llm.model_dump()
            if hasattr(engine.policy.thresholds.llm, "model_dump")
            else engine.policy.thresholds.llm,
            "load_average": Path("/proc/loadavg").read_text().split()[:3],
        }


def bench_compose(bundle: Path, threads: int, limit: int, lang: str = "en") -> dict[str, Any]:
    """Compose latency and outcomes over the FAQ passages' English questions.

    The budget is lifted so that the real latency is measured; ``over_budget``
    counts the calls the shipped budget would have cut (their passage is
    shown on a kiosk as slow as this machine).
    """
    from edge_models.llm import LlamaModel, LlmConfig
    from kiosk.config import DEFAULT_POLICY_DIR
    from kiosk.dialogue.breaker import CircuitBreaker
    from kiosk.dialogue.compose import AnswerComposer
    from kiosk.dialogue.faq import FaqHit
    from kiosk.llm_stage import LlmStage
    from kiosk.policy import load_policy

    policy = load_policy(DEFAULT_POLICY_DIR)
    limits = policy.thresholds
    measured = limits.model_copy(update={"llm_compose_budget_s": 120.0})
    model = LlamaModel(bundle, LlmConfig(threads=threads, budget_s=120.0))
    stage = LlmStage(model, {}, CircuitBreaker(failures=10_000))
    composer = AnswerComposer(stage, measured)
    normalize = Normalizer()
    samples = []
    examples: list[dict[str, Any]] = []
    for entry in policy.knowledge.faq[:limit]:
        question = entry.question.get(lang)
        started = time.perf_counter()
        text, source = composer.answer(normalize(question).text, FaqHit(entry, 1.0), lang)
        samples.append((time.perf_counter() - started) * 1000)
        if source.composed:
            examples.append({"question": question, "composed": text, "passage": entry.answer.get(lang)})
    outcomes = dict(composer.outcomes.most_common())
    asked = len(samples)
    return {
        "lang": lang,
        "questions": asked,
        "prefix_hits": model.prefix_hits,
        **pct(samples),
        "over_budget": sum(ms > limits.llm_compose_budget_s * 1000 for ms in samples),
        "budget_s": limits.llm_compose_budget_s,
        "composed": outcomes.get("composed", 0),
        "passage_shown": asked - outcomes.get("composed", 0),
        "outcomes": outcomes,
        "thresholds": {"llm_compose": limits.llm_compose, "llm_compose_support": limits.llm_compose_support},
        "composed_answers": examples,
        "load_average": Path("/proc/loadavg").read_text().split()[:3],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description="model stack benchmark")
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--compose-questions", type=int, default=1000, help="FAQ questions to compose answers for.")
    parser.add_argument("--only", choices=["compose", "llm"], help="Run one part only.")
    parser.add_argument("--bundle", type=Path, default=DEFAULT_SEED_DIR / "llm", help="The LLM bundle measured.")
    args = parser.parse_args()
    normalize = Normalizer()
    llm_bundle = args.bundle
    if args.only == "compose":
        print(json.dumps(bench_compose(llm_bundle, args.threads, args.compose_questions), indent=2, ensure_ascii=False))
        return 0
    with (ROOT / "tests" / "data" / "nlu_hard.tsv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    texts = [row["text"] for row in rows][: args.turns]
    if args.only == "llm":
        half = args.turns // 2  # as many Chinese lines as English ones (the LLM is asked per script)
        mixed = [r["text"] for r in rows if r["lang"] == "zh"][:half] + [r["text"] for r in rows if r["lang"] == "en"][
            :half
        ]
        llm_report = {
            "bundle": str(llm_bundle),
            "load_average_start": Path("/proc/loadavg").read_text().split()[:3],
            "adapter_vs_bare": bench_llm(llm_bundle, args.threads, args.rounds),
            "label_choice": bench_label_choice(llm_bundle, args.threads, mixed),
            "compose_en": bench_compose(llm_bundle, args.threads, args.compose_questions, "en"),
            "compose_zh": bench_compose(llm_bundle, args.threads, args.compose_questions, "zh"),
            "rss_mb": rss_mb(),
        }
        print(json.dumps(llm_report, indent=2, ensure_ascii=False))
        return 0
    report: dict[str, Any] = {"rss_mb_start": rss_mb()}
    report["turn_without_llm"] = bench_turns(texts, use_llm=False)
    report["turn_with_llm"] = bench_turns(texts, use_llm=True)
    if (llm_bundle / "manifest.json").is_file():
        report["llm"] = bench_llm(llm_bundle, args.threads, args.rounds)
        report["llm_compose"] = bench_compose(llm_bundle, args.threads, args.compose_questions)
    embedder = DEFAULT_SEED_DIR / "embedder"
    if (embedder / "manifest.json").is_file():
        from edge_models.embedder_onnx import bench_embedder

        report["embedder"] = bench_embedder(embedder, [normalize(t).text for t in texts[:200]])
    else:
        report["embedder"] = "not built (make embedder)"
    report["rss_mb_end"] = rss_mb()
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
