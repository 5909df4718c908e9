"""One registry of bundle kinds: how each kind is loaded and what its golden check is.

The sync agent's health checks (``kiosk sync run``), the kiosk's loaders
(:mod:`kiosk.assembly`) and the :class:`~kiosk.assembly.EngineReloader` all go
through :func:`load_checked`, so a kind is loaded and checked the same way
everywhere.

Kinds: ``policy``, ``nlu``, ``embedder``, ``llm``, ``asr`` (every ``asr-<lang>``
and ``asr-whisper``) and ``tts``. A check hook (:data:`CHECK_HOOKS`) runs on
every kind after its own check: the place for checks that span kinds (e.g. a
bundle's ``requires:`` features against what this kiosk can do).

Heavy libraries are imported inside the loaders only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bundles import BundleInvalidError, Manifest, check_features, read_manifest
from kiosk.intents import KIOSK_FEATURES

if TYPE_CHECKING:
    from edge_models.embedder_onnx import OnnxEmbedder


@dataclass(frozen=True)
class LoadOptions:
    """What a loader needs besides the bundle directory (from the kiosk settings)."""

    model_threads: int = 1
    llm_threads: int = 2
    llm_budget_s: float = 3.0
    llm_nice: int = 10
    asr_threads: int = 2
    verify: bool = True
    embedder: OnnxEmbedder | None = field(default=None, compare=False)


Loader = Callable[[Path, LoadOptions], Any]
Check = Callable[[Any], None]
CheckHook = Callable[[Manifest, Any], None]
"""Runs after a kind's own check with the bundle's manifest and the loaded object; raises to refuse it."""


@dataclass(frozen=True)
class BundleKind:
    """How one kind of bundle is loaded and checked.

    Attributes:
        kind: The kind name (``asr`` stands for every ``asr-*`` kind).
        load: Loads a bundle directory into the object the kiosk uses.
        check: The golden check on the loaded object; raises on failure.
        check_on_load: Whether the kiosk runs ``check`` each time it loads the
            kind (cheap checks); the sync agent always runs it before activation.
    """

    kind: str
    load: Loader
    check: Check
    check_on_load: bool = True


def _load_policy(directory: Path, options: LoadOptions) -> Any:
    from kiosk.policy import load_policy

    return load_policy(directory, verify=options.verify)


def _check_policy(policy: Any) -> None:
    from kiosk.dialogue import enabled_flows

    if not policy.version:
        raise BundleInvalidError("policy has no version")
    enabled_flows(policy)  # a flow the registry does not know is refused (UnknownFlowError, a PolicyError)


def _load_nlu(directory: Path, options: LoadOptions) -> Any:
    from edge_models.intent_onnx import OnnxIntentClassifier

    return OnnxIntentClassifier(
        directory, threads=options.model_threads, verify=options.verify, embedder=options.embedder
    )


def _check_nlu(classifier: Any) -> None:
    classifier.check_golden()


def _load_embedder(directory: Path, options: LoadOptions) -> Any:
    from edge_models.embedder_onnx import OnnxEmbedder

    return OnnxEmbedder(directory, threads=options.model_threads, verify=options.verify)


def _check_embedder(embedder: Any) -> None:
    import numpy as np

    from edge_models.errors import ModelCorruptError

    vectors = embedder.embed(["my card was stolen", "I lost my bank card", "what is the exchange rate"])
    if vectors.shape != (3, embedder.dimension) or not np.isfinite(vectors).all():
        raise ModelCorruptError(f"embedder {embedder.version}: bad output shape {vectors.shape}")
    near, far = float(vectors[0] @ vectors[1]), float(vectors[0] @ vectors[2])
    if near <= far:
        raise ModelCorruptError(f"embedder {embedder.version}: golden pair not closer ({near:.2f} <= {far:.2f})")


def _load_llm(directory: Path, options: LoadOptions) -> Any:
    from edge_models.llm import LlamaModel, LlmConfig

    config = LlmConfig(threads=options.llm_threads, budget_s=options.llm_budget_s, nice=options.llm_nice)
    return LlamaModel(directory, config, verify=options.verify)


def _check_llm(model: Any) -> None:
    from edge_models.errors import ModelCorruptError

    labels = ["card_lost", "exchange_rate"]
    guess = model.classify("my card was stolen", labels, {"card_lost": "Lost card", "exchange_rate": "Rates"})
    if guess.label not in labels or not 0.0 < guess.confidence <= 1.0:
        raise ModelCorruptError(f"LLM {model.version}: golden label check failed ({guess})")


def _load_asr(directory: Path, options: LoadOptions) -> Any:
    from edge_models.asr.bundles import load_asr_bundle

    return load_asr_bundle(directory, verify=options.verify, threads=options.asr_threads)


def _check_asr(engine: Any) -> None:
    from edge_models.errors import ModelCorruptError

    if not engine.languages:
        raise ModelCorruptError(f"ASR {engine.model}: serves no language")


def _load_tts(directory: Path, options: LoadOptions) -> Any:
    from edge_models.tts.bundles import load_voice

    return load_voice(directory, threads=options.model_threads)


def _check_tts(voice: Any) -> None:
    from edge_models.errors import ModelCorruptError

    lang = "zh" if "zh" in getattr(voice, "languages", ("zh",)) else "en"
    speech = voice.synthesize("你好" if lang == "zh" else "hello", lang)
    if speech.pcm.duration_s <= 0:
        raise ModelCorruptError("voice: golden phrase gave no audio")


KINDS: dict[str, BundleKind] = {
    "policy": BundleKind("policy", _load_policy, _check_policy),
    "nlu": BundleKind("nlu", _load_nlu, _check_nlu),
    "embedder": BundleKind("embedder", _load_embedder, _check_embedder),
    # The label check costs a prompt (seconds with the 1.5B model): the agent runs it before activation.
    "llm": BundleKind("llm", _load_llm, _check_llm, check_on_load=False),
    "asr": BundleKind("asr", _load_asr, _check_asr),
    "tts": BundleKind("tts", _load_tts, _check_tts, check_on_load=False),
}

CHECK_HOOKS: list[CheckHook] = []
"""Checks run on every kind after its own (e.g. ``requires:`` features); append at start-up."""


def kind_of(kind: str) -> BundleKind:
    """The registry entry of a manifest kind (``asr-ko`` -> ``asr``).

    Raises:
        BundleInvalidError: no such kind.
    """
    key = "asr" if kind.startswith("asr-") else kind
    found = KINDS.get(key)
    if found is None:
        raise BundleInvalidError(f"unknown bundle kind {kind!r}")
    return found


def load_checked(
    directory: Path, options: LoadOptions | None = None, *, kind: str | None = None, check: bool | None = None
) -> Any:
    """Load the bundle in ``directory`` by its kind and run its golden check and the hooks.

    Args:
        directory: The bundle directory.
        options: Threads, budgets, whether to hash the files.
        kind: The kind it must be (default: whatever its manifest says).
        check: Run the kind's golden check (default: its ``check_on_load``).

    Returns:
        The loaded object (a policy, a classifier, a model, an engine, a voice).

    Raises:
        BundleError: the manifest is missing or invalid, or of another kind.
        ModelError: the model does not load or fails its golden check.
        PolicyError: the policy does not load.
    """
    options = options or LoadOptions()
    manifest = read_manifest(directory)
    check_features(manifest, KIOSK_FEATURES)  # refused by the feature's name, before anything loads
    if kind is not None and manifest.kind != kind and not (kind == "asr" and manifest.kind.startswith("asr-")):
        raise BundleInvalidError(f"{directory}: bundle kind is {manifest.kind!r}, expected {kind!r}")
    entry = kind_of(manifest.kind)
    loaded = entry.load(directory, options)
    if entry.check_on_load if check is None else check:
        entry.check(loaded)
    for hook in CHECK_HOOKS:
        hook(manifest, loaded)
    return loaded


class HealthChecks(Mapping[str, Callable[[Path], None]]):
    """The sync agent's health check per manifest kind: load and run the golden check of every kind.

    The agent has verified the files just before, so they are not hashed again here.
    """

    def __init__(self, options: LoadOptions | None = None) -> None:
        self._options = options or LoadOptions()

    def __getitem__(self, kind: str) -> Callable[[Path], None]:
        try:
            kind_of(kind)
        except BundleInvalidError as err:
            raise KeyError(kind) from err
        base = self._options
        options = LoadOptions(
            model_threads=base.model_threads,
            llm_threads=base.llm_threads,
            llm_budget_s=max(base.llm_budget_s, 30.0),  # a busy kiosk must not fail a good model
            llm_nice=base.llm_nice,
            asr_threads=base.asr_threads,
            verify=False,
        )

        def check(directory: Path) -> None:
            load_checked(directory, options, kind=kind, check=True)

        return check

    def __iter__(self) -> Iterator[str]:
        return iter(KINDS)

    def __len__(self) -> int:
        return len(KINDS)
