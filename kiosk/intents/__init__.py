"""The intent set.

The built-in core intents (``core``), a model's labels checked against the policy's (``intent_set``), and HQ's
accepted-label files for retraining (``hq_labels``).
"""

from kiosk.intents.core import INTENT_SET_FEATURE, INTENTS, KIOSK_FEATURES, LANGS, OUT_OF_SCOPE, is_label
from kiosk.intents.hq_labels import LabelRow, LabelsFileError, read_labels
from kiosk.intents.intent_set import FeatureMissingError, IntentSetError, check_model_labels, require_features

__all__ = [
    "INTENTS",
    "INTENT_SET_FEATURE",
    "KIOSK_FEATURES",
    "LANGS",
    "OUT_OF_SCOPE",
    "FeatureMissingError",
    "IntentSetError",
    "LabelRow",
    "LabelsFileError",
    "check_model_labels",
    "is_label",
    "read_labels",
    "require_features",
]
