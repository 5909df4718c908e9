"""The kiosk's intent set comes from its loaded bundles: checks made when they load.

The NLU bundle says which labels its model predicts; the policy says which it
answers (``knowledge.yaml``) and how they are called (``messages.yaml``). A model
label the policy does not answer would leave a customer without a reply, so the
pair is refused at load, naming the label. A bundle that needs a runtime feature
this kiosk lacks is refused by the feature's name (docs/adr/0013-intent-set-from-bundles.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from bundles import BundleError, check_features, read_manifest
from edge_models.errors import ModelError
from kiosk.intents.core import KIOSK_FEATURES


class IntentSetError(ModelError):
    """The intent model predicts a label that the policy does not answer."""


class FeatureMissingError(ModelError):
    """A bundle needs a runtime feature this kiosk does not have."""


def check_model_labels(model_labels: Iterable[str], policy_intents: Iterable[str], *, version: str = "") -> None:
    """Refuse a model whose labels are not all answered by the policy.

    Args:
        model_labels: What the model predicts (without the internal 'other' label).
        policy_intents: What the policy answers (:attr:`kiosk.policy.Policy.intents`).
        version: The NLU bundle's version, for the message.

    Raises:
        IntentSetError: naming every label the policy lacks.
    """
    lacking = sorted(set(model_labels) - set(policy_intents))
    if lacking:
        which = f"intent model {version}".strip()
        raise IntentSetError(
            f"{which} predicts {', '.join(repr(label) for label in lacking)}, which the policy does not answer "
            "(add the answer and display names to the policy, or publish a model without it)"
        )


def require_features(directory: Path, features: Iterable[str] = KIOSK_FEATURES) -> None:
    """Refuse the bundle in ``directory`` when it needs a feature not in ``features``.

    Raises:
        FeatureMissingError: the manifest's ``requires_features`` names one this kiosk lacks
            (or the manifest is unreadable).
    """
    try:
        check_features(read_manifest(directory), features)
    except BundleError as err:
        raise FeatureMissingError(str(err)) from err
