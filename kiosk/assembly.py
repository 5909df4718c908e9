"""Putting a kiosk together from its state directory: bundles, models, engine, store."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from edge_models.errors import ModelError
from kiosk.config import DEFAULT_POLICY_DIR, Settings
from kiosk.dialogue.engine import DialogueEngine
from kiosk.dialogue.ports import IntentClassifier, TicketDispenser
from kiosk.policy.loader import Policy, PolicyError, load_policy
from sync.activation import active_dir, provision_seed
from sync.errors import SyncError

_LOG = logging.getLogger(__name__)


@dataclass
class Health:
    """What loaded and what did not, for the page and the logs."""

    policy_version: str = "none"
    nlu_version: str = "none"
    problems: list[str] = field(default_factory=list)


def provision(settings: Settings, health: Health) -> None:
    """Install the built-in bundles into the state directory where needed."""
    for seed in settings.seed_dirs:
        if not (seed / "manifest.json").is_file():
            health.problems.append(f"built-in bundle {seed} is not built")
            continue
        try:
            provision_seed(seed, settings.state_dir)
        except SyncError as err:
            health.problems.append(f"built-in bundle {seed}: {err}")


def load_active_policy(settings: Settings, health: Health) -> Policy:
    """The active policy, or the built-in one when the active one is broken.

    Raises:
        PolicyError: neither the active nor the built-in policy loads.
    """
    directory = active_dir(settings.state_dir, "policy")
    if directory is not None:
        try:
            return load_policy(directory)
        except PolicyError as err:
            _LOG.error("active policy rejected: %s", err)
            health.problems.append(f"active policy rejected: {err}")
    return load_policy(DEFAULT_POLICY_DIR)


def load_classifier(settings: Settings, health: Health) -> IntentClassifier | None:
    """The active intent model, or None (the kiosk keeps serving with rules)."""
    if not settings.use_model:
        return None
    directory = active_dir(settings.state_dir, "nlu")
    if directory is None:
        health.problems.append("no intent model installed: serving with rules only")
        return None
    from edge_models.intent_onnx import OnnxIntentClassifier

    try:
        classifier = OnnxIntentClassifier(directory, threads=settings.model_threads)
        classifier.check_golden()
    except ModelError as err:
        _LOG.error("intent model rejected: %s", err)
        health.problems.append(f"intent model rejected, serving with rules only: {err}")
        return None
    health.nlu_version = classifier.version
    return classifier


def build_engine(settings: Settings, tickets: TicketDispenser | None = None) -> tuple[DialogueEngine, Health]:
    """Provision, load the policy and the model, and make the engine."""
    health = Health()
    provision(settings, health)
    policy = load_active_policy(settings, health)
    health.policy_version = policy.version
    classifier = load_classifier(settings, health)
    return DialogueEngine(policy, classifier, tickets=tickets), health
