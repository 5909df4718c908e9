"""Vision models of the kiosk: face detection (mediapipe) for presence.

mediapipe is imported only inside :class:`FaceDetector`.
"""

from edge_models.vision.face import Face, FaceDetector, VisionError

__all__ = ["Face", "FaceDetector", "VisionError"]
