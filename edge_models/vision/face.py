"""Face detection with mediapipe's short-range model (bundled in the wheel).

The detector sees a frame in memory and returns boxes; it never keeps or
writes the image.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from edge_models.errors import ModelError, ModelMissingError

log = logging.getLogger(__name__)


class VisionError(ModelError):
    """The face detector failed on a frame."""


@dataclass(frozen=True, slots=True)
class Face:
    """A detected face: box in 0..1 of the image, and the model's score."""

    x: float
    y: float
    w: float
    h: float
    score: float

    @property
    def centre(self) -> tuple[float, float]:
        """Centre of the box (x, y in 0..1)."""
        return (self.x + self.w / 2, self.y + self.h / 2)


class FaceDetector:
    """mediapipe face detection; one lock per model, safe to call from threads."""

    def __init__(self, min_score: float = 0.5, full_range: bool = False) -> None:
        """Load the model.

        Args:
            min_score: Detections below this score are dropped by mediapipe.
            full_range: Use the full-range model (faces up to 5 m) instead of
                the short-range one (about 2 m, a kiosk's distance).

        Raises:
            ModelMissingError: If mediapipe or its bundled model is missing.
        """
        try:
            import mediapipe as mp  # type: ignore[import-untyped]
        except ImportError as err:
            raise ModelMissingError(f"mediapipe is not installed: {err}") from err
        try:
            self._model: Any = mp.solutions.face_detection.FaceDetection(
                model_selection=1 if full_range else 0, min_detection_confidence=min_score
            )
        except Exception as err:
            raise ModelMissingError(f"cannot load mediapipe face detection: {err}") from err
        self._lock = threading.Lock()

    def detect(self, rgb: npt.NDArray[np.uint8]) -> tuple[Face, ...]:
        """Faces in an RGB image (height x width x 3, uint8), largest first.

        Raises:
            VisionError: If the image is not RGB uint8 or mediapipe fails.
        """
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise VisionError(f"expected an RGB uint8 image, got shape {rgb.shape} {rgb.dtype}")
        try:
            with self._lock:
                result = self._model.process(np.ascontiguousarray(rgb))
        except Exception as err:
            log.exception("face detection failed")
            raise VisionError(f"face detection failed: {err}") from err
        faces = []
        for det in result.detections or ():
            box = det.location_data.relative_bounding_box
            x, y = max(0.0, float(box.xmin)), max(0.0, float(box.ymin))
            w = min(1.0, float(box.xmin) + float(box.width)) - x
            h = min(1.0, float(box.ymin) + float(box.height)) - y
            faces.append(Face(x=x, y=y, w=w, h=h, score=float(det.score[0])))
        return tuple(sorted(faces, key=lambda f: f.w * f.h, reverse=True))

    def close(self) -> None:
        """Free the model."""
        with self._lock:
            self._model.close()
