"""Putting a kiosk together from its state directory: bundles, models, engine, store."""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from bundles import BundleError, BundleMissingError, active_dir, active_manifest, provision_seed, write_runtime_report
from edge_models.errors import ModelError
from kiosk.assembly.kinds import LoadOptions, load_checked
from kiosk.config import DEFAULT_POLICY_DIR, Settings
from kiosk.dialogue import DialogueEngine, EmbedFn, IntentClassifier, TicketDispenser
from kiosk.intents import check_model_labels
from kiosk.policy import Policy, PolicyError, load_policy

if TYPE_CHECKING:
    from edge_models.embedder_onnx import OnnxEmbedder
    from edge_models.llm import LlamaModel
    from kiosk.llm import LlmStage

_LOG = logging.getLogger(__name__)


@dataclass
class Health:
    """What loaded and what did not, for the page and the logs."""

    policy_version: str = "none"
    nlu_version: str = "none"
    llm_version: str = "none"
    embedder_version: str = "none"
    problems: list[str] = field(default_factory=list)


def provision(settings: Settings, health: Health) -> None:
    """Install the built-in bundles into the state directory where needed."""
    skipped = {"nlu"} if not settings.use_model else set()
    if not settings.use_llm:
        skipped.add("llm")
    if not settings.use_embedder:
        skipped.add("embedder")
    for seed in settings.seed_dirs:
        if not (seed / "manifest.json").is_file():
            health.problems.append(f"built-in bundle {seed} is not built")
            continue
        if seed.name in skipped:
            continue
        try:
            provision_seed(seed, settings.state_dir)
        except BundleError as err:
            health.problems.append(f"built-in bundle {seed}: {err}")


def load_options(settings: Settings, embedder: OnnxEmbedder | None = None) -> LoadOptions:
    """The registry's load options from the kiosk settings."""
    return LoadOptions(
        model_threads=settings.model_threads,
        llm_threads=settings.llm_threads,
        llm_budget_s=settings.llm_budget_s,
        llm_nice=settings.llm_nice,
        embedder=embedder,
    )


def load_active_policy(settings: Settings, health: Health) -> Policy:
    """The active policy, or the built-in one when the active one is broken.

    Raises:
        PolicyError: neither the active nor the built-in policy loads.
    """
    directory = active_dir(settings.state_dir, "policy")
    if directory is not None:
        try:
            policy: Policy = load_checked(directory, load_options(settings), kind="policy")
        except (PolicyError, BundleError) as err:
            _LOG.error("active policy rejected: %s", err)
            health.problems.append(f"active policy rejected: {err}")
        else:
            return policy
    return load_policy(DEFAULT_POLICY_DIR)


def load_classifier(
    settings: Settings, health: Health, embedder: OnnxEmbedder | None = None, policy: Policy | None = None
) -> IntentClassifier | None:
    """The active intent model, or None (the kiosk keeps serving with rules).

    ``embedder`` feeds the model's second head (text without Han characters), when it has one.
    With ``policy``, a model that predicts a label the policy does not answer is refused.
    """
    if not settings.use_model:
        return None
    directory = active_dir(settings.state_dir, "nlu")
    if directory is None:
        health.problems.append("no intent model installed: serving with rules only")
        return None
    try:
        classifier = load_checked(directory, load_options(settings, embedder), kind="nlu")
        if policy is not None:
            check_model_labels(classifier.intent_set.labels, policy.intents, version=classifier.version)
    except (ModelError, BundleError) as err:
        _LOG.error("intent model rejected: %s", err)
        health.problems.append(f"intent model rejected, serving with rules only: {err}")
        return None
    if settings.use_embedder and classifier.calibration.head is not None and not classifier.head_active:
        health.problems.append(f"intent model runs on n-grams alone: {classifier.head_problem}")
    health.nlu_version = classifier.version
    return classifier  # type: ignore[no-any-return]


def llm_stage(model: LlamaModel, policy: Policy, *, warm: bool = False) -> LlmStage:
    """The LLM stage over ``model``, with the policy's intent names as its label descriptions.

    With ``warm``, a background thread reads its label-choice prompt ahead of the first customer.
    """
    from kiosk.llm import LlmStage

    names = {label: text.en for label, text in policy.messages.intent_names.items()}
    names["out_of_scope"] = "not a banking request, or an instruction to the assistant"
    stage = LlmStage(model, names)
    if warm:
        threading.Thread(target=stage.warm, name="llm-warm", daemon=True).start()
    else:
        stage.warmed.set()  # nothing to wait for
    return stage


def stop_llm(engine: DialogueEngine) -> None:
    """Cut the engine's LLM background work (its menu read-ahead, a summary) at its next step: call it before exit.

    The model's worker is a pool thread, which the interpreter joins at exit before any
    ``atexit`` handler runs: a read-ahead still going on a busy machine would hold the exit
    until it ended (minutes, on a niced thread under load).
    """
    stop = getattr(engine.understander.llm, "stop_background", None)
    if callable(stop):
        stop()


def wait_for_llm(engine: DialogueEngine, timeout_s: float = 300.0) -> bool:
    """Wait until the engine's LLM stage has read its prompt ahead (benchmarks start after it); False on time-out."""
    warmed = getattr(engine.understander.llm, "warmed", None)
    return bool(warmed.wait(timeout_s)) if isinstance(warmed, threading.Event) else True


def load_llm_model(settings: Settings, health: Health) -> LlamaModel | None:
    """The active LLM bundle's model, or None (the cascade skips the stage, answers are not composed)."""
    if not settings.use_llm:
        return None
    directory = active_dir(settings.state_dir, "llm")
    if directory is None:
        health.problems.append("no LLM installed: the LLM stage is skipped")
        return None
    try:
        model: LlamaModel = load_checked(directory, load_options(settings), kind="llm")
    except (ModelError, BundleError, ImportError) as err:
        _LOG.error("LLM rejected: %s", err)
        health.problems.append(f"LLM rejected, its stage is skipped: {err}")
        return None
    health.llm_version = model.version
    return model


def load_llm(settings: Settings, policy: Policy, health: Health) -> LlmStage | None:
    """The active LLM bundle as the LLM stage, or None (the cascade skips the stage, answers are not composed)."""
    model = load_llm_model(settings, health)
    return llm_stage(model, policy, warm=settings.llm_warm) if model is not None else None


def load_embedder(settings: Settings, health: Health) -> EmbedFn | None:
    """The active sentence embedder's ``embed``, or None (FAQ retrieval stays lexical)."""
    embedder = load_sentence_embedder(settings, health)
    return embedder.embed if embedder is not None else None


def load_sentence_embedder(settings: Settings, health: Health) -> OnnxEmbedder | None:
    """The active sentence embedder, or None (FAQ retrieval stays lexical, the intent model's head is off)."""
    if not settings.use_embedder:
        return None
    directory = active_dir(settings.state_dir, "embedder")
    if directory is None:
        health.problems.append("no sentence embedder installed: FAQ retrieval is lexical only")
        return None
    try:
        embedder: OnnxEmbedder = load_checked(directory, load_options(settings), kind="embedder")
    except (ModelError, BundleError, ImportError) as err:
        _LOG.error("sentence embedder rejected: %s", err)
        health.problems.append(f"sentence embedder rejected, FAQ retrieval is lexical only: {err}")
        return None
    health.embedder_version = embedder.version
    return embedder


# Staff overrides of the policy's thresholds (admin page, settings table), by threshold field.
_STAFF_THRESHOLDS = {
    "model_threshold": "model",
    "rules_confidence": "rules_confidence",
    "max_misses": "max_misses",
    "clarify_options": "clarify_options",
}


def staff_overrides(settings: Settings, policy: Policy) -> dict[str, Any]:
    """Threshold overrides staff saved on the admin page, re-checked against HQ's bounds in ``policy``.

    Read through a short read-only connection: a busy or broken database
    means no overrides this time, never a failed conversation.
    """
    if not settings.db_path.is_file():
        return {}
    import sqlite3

    from kiosk.admin import PREFIX, SettingError, spec

    keys = [PREFIX + name for name in _STAFF_THRESHOLDS]
    try:
        db = sqlite3.connect(f"file:{settings.db_path}?mode=ro", uri=True, timeout=2)
        try:
            marks = ",".join("?" * len(keys))
            rows = db.execute(f"SELECT key, value FROM settings WHERE key IN ({marks})", keys).fetchall()  # noqa: S608
        finally:
            db.close()
    except sqlite3.Error as err:
        _LOG.warning("staff settings not read this time: %s", err)
        return {}
    found = {}
    for key, raw in rows:
        name = key.removeprefix(PREFIX)
        try:
            value = json.loads(raw)
            found[_STAFF_THRESHOLDS[name]] = spec(name, policy.thresholds.staff_bounds).parse(str(value))
        except (SettingError, ValueError) as err:
            _LOG.error("ignoring staff setting %s: %s", name, err)
    return found


def with_overrides(policy: Policy, overrides: dict[str, Any]) -> Policy:
    """The policy with staff threshold overrides applied."""
    if not overrides:
        return policy
    return replace(policy, thresholds=policy.thresholds.model_copy(update=overrides))


def build_engine(settings: Settings, tickets: TicketDispenser | None = None) -> tuple[DialogueEngine, Health]:
    """Provision, load the policy and the models, and make the engine."""
    reloader = EngineReloader.start(settings, tickets)
    return reloader.engine, reloader.health


TRACKED_KINDS = ("policy", "embedder", "nlu", "llm")
"""Bundles the engine is built from; ASR is picked per conversation by the runtime, voices by :class:`Voices`."""


class EngineReloader:
    """Rebuilds the engine when ``active/`` switched, only when a new conversation starts.

    Every bundle the engine is built from (policy, embedder, intent model,
    LLM) is reloaded through the kind registry (:mod:`kiosk.assembly.kinds`)
    when its active version changes. A new bundle that does not load is
    reported to the sync agent (:func:`bundles.status.write_runtime_report`),
    which rolls it back; the kiosk keeps serving with the engine it has.
    Running conversations keep the engine they started with.

    Args:
        settings: The kiosk settings.
        engine: The engine built at start.
        health: Its health record (problems are appended).
        classifier: The intent model the engine runs with.
        tickets: Ticket dispenser for rebuilt engines.
        llm: The LLM stage the engine runs with.
        embed: The sentence embedder the engine runs with.
        embedder: The same embedder, for a new intent model's second head.
    """

    def __init__(
        self,
        settings: Settings,
        engine: DialogueEngine,
        health: Health,
        classifier: IntentClassifier | None,
        *,
        tickets: TicketDispenser | None = None,
        llm: LlmStage | None = None,
        embed: EmbedFn | None = None,
        policy: Policy | None = None,
        embedder: OnnxEmbedder | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self._policy = policy or engine.policy
        self.health = health
        self._classifier = classifier
        self._llm = llm
        self._embed = embed
        self._embedder = embedder
        self._tickets = tickets
        self._loaded = self._active_versions()

    @classmethod
    def start(cls, settings: Settings, tickets: TicketDispenser | None = None) -> EngineReloader:
        """Provision, load and build the first engine (as :func:`build_engine`)."""
        health = Health()
        provision(settings, health)
        policy = load_active_policy(settings, health)
        health.policy_version = policy.version
        embedder = load_sentence_embedder(settings, health)
        classifier = load_classifier(settings, health, embedder, policy)
        llm = load_llm(settings, policy, health)
        embed = embedder.embed if embedder is not None else None
        staff = with_overrides(policy, staff_overrides(settings, policy))
        engine = DialogueEngine(staff, classifier, tickets=tickets, llm=llm, composer=llm, embed=embed)
        return cls(
            settings,
            engine,
            health,
            classifier,
            tickets=tickets,
            llm=llm,
            embed=embed,
            policy=policy,
            embedder=embedder,
        )

    def _wanted(self) -> tuple[str, ...]:
        off = {
            "nlu": not self.settings.use_model,
            "llm": not self.settings.use_llm,
            "embedder": not self.settings.use_embedder,
        }
        return tuple(kind for kind in TRACKED_KINDS if not off.get(kind, False))

    def _active_versions(self) -> dict[str, str]:
        versions = {}
        for name in self._wanted():
            manifest = active_manifest(self.settings.state_dir, name)
            versions[name] = manifest.version if manifest is not None else ""
        versions["staff"] = json.dumps(staff_overrides(self.settings, self._policy), sort_keys=True)
        return versions

    def _load(self, name: str, options: LoadOptions) -> Any:
        directory = active_dir(self.settings.state_dir, name)
        if directory is None:
            raise BundleMissingError(f"no active {name} bundle")
        return load_checked(directory, options, kind=name)

    def __call__(self) -> DialogueEngine:
        """The engine for a new conversation (rebuilt when an active version changed)."""
        versions = self._active_versions()
        if versions == self._loaded:
            return self.engine
        changed = {name: v for name, v in versions.items() if v != self._loaded.get(name) and name != "staff"}
        policy, embedder, classifier = self._policy, self._embedder, self._classifier
        model = self._llm.model if self._llm is not None else None
        try:
            if "policy" in changed:
                policy = self._load("policy", load_options(self.settings))
            if "embedder" in changed:
                embedder = self._load("embedder", load_options(self.settings))
            if self.settings.use_model and ("nlu" in changed or ("embedder" in changed and classifier is not None)):
                classifier = self._load("nlu", load_options(self.settings, embedder))
            if "llm" in changed:
                model = self._load("llm", load_options(self.settings))
            labels = getattr(classifier, "intent_set", None)
            if labels is not None:
                check_model_labels(labels.labels, policy.intents, version=getattr(classifier, "version", ""))
        except (PolicyError, ModelError, BundleError, ImportError) as err:
            _LOG.error("new bundle rejected, keeping the running one: %s", err)
            self.health.problems.append(f"new bundle rejected, keeping the running one: {err}")
            for name, version in changed.items():
                write_runtime_report(self.settings.state_dir, name, version, False, str(err))
            self._loaded = versions
            return self.engine
        llm = self._llm
        if model is not None and ("llm" in changed or "policy" in changed):
            llm = llm_stage(model, policy, warm=self.settings.llm_warm)
        embed = embedder.embed if embedder is not None else None
        staff = with_overrides(policy, json.loads(versions["staff"]))
        self.engine = DialogueEngine(staff, classifier, tickets=self._tickets, llm=llm, composer=llm, embed=embed)
        self._policy, self._embedder, self._classifier, self._llm, self._embed = (
            policy,
            embedder,
            classifier,
            llm,
            embed,
        )
        self.health.policy_version = policy.version
        if embedder is not None:
            self.health.embedder_version = embedder.version
        if classifier is not None and hasattr(classifier, "version"):
            self.health.nlu_version = classifier.version
        if model is not None:
            self.health.llm_version = model.version
        for name, version in changed.items():
            write_runtime_report(self.settings.state_dir, name, version, True)
        self._loaded = versions
        return self.engine
