"""Runtimes of the kiosk's quantized models and their bundle loader.

Heavy libraries (onnxruntime) are imported only inside the adapter modules.
``edge_models.build`` is the HQ model factory and is never imported by the
kiosk runtime.
"""

from edge_models.errors import ModelCorruptError, ModelError, ModelHealthError, ModelMissingError

__all__ = ["ModelCorruptError", "ModelError", "ModelHealthError", "ModelMissingError"]
