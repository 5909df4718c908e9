"""Text recognition (OCR) with RapidOCR on onnxruntime.

PP-OCRv4 detection and recognition and the angle classifier are ONNX models
shipped inside the ``rapidocr-onnxruntime`` wheel.

The reader sees an image in memory and returns text lines with their boxes;
it never keeps or writes the image. ``rapidocr_onnxruntime`` is imported only
inside :class:`TextReader`.
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

Point = tuple[float, float]


class OcrError(ModelError):
    """The OCR models failed on an image."""


@dataclass(frozen=True, slots=True)
class OcrLine:
    """One recognised line: its text, its box (four corners, clockwise from top-left, in pixels) and score."""

    text: str
    box: tuple[Point, Point, Point, Point]
    score: float


class TextReader:
    """RapidOCR on onnxruntime; one lock for the models, safe to call from threads."""

    def __init__(self, threads: int = 1) -> None:
        """Load the detection, angle and recognition models from the wheel.

        Args:
            threads: onnxruntime intra-op threads per model.

        Raises:
            ModelMissingError: If rapidocr-onnxruntime (or what it imports) is missing.
            OcrError: If the models fail to load.
        """
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as err:
            raise ModelMissingError(f"rapidocr-onnxruntime is not installed: {err}") from err
        try:
            self._engine: Any = RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1)
        except Exception as err:
            raise OcrError(f"cannot load the OCR models: {err}") from err
        self._lock = threading.Lock()

    def read(self, rgb: npt.NDArray[np.uint8]) -> list[OcrLine]:
        """Recognise the text lines of an RGB image (height x width x 3, uint8).

        Raises:
            OcrError: If the image is not RGB uint8 or the models fail.
        """
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise OcrError(f"image is not RGB uint8: shape {rgb.shape}, {rgb.dtype}")
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])  # RapidOCR takes OpenCV's BGR order
        try:
            with self._lock:
                result, _elapse = self._engine(bgr)
        except Exception as err:
            log.exception("OCR failed")
            raise OcrError(f"OCR failed: {err}") from err
        lines: list[OcrLine] = []
        for box, text, score in result or []:
            corners = tuple((float(x), float(y)) for x, y in box)
            if len(corners) != 4:
                continue
            lines.append(OcrLine(text=str(text), box=corners, score=float(score)))
        return lines
