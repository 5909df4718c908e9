"""Cameras: a small interface and its drivers.

``Camera.read`` returns the next RGB frame (or ``None`` at the end of a
file source); the base class checks every frame and turns driver failures
into ``CameraError``. Drivers: ``OpenCVCamera`` (a real camera),
``ImageFolderCamera`` (one image or a folder of images, for tests and demos),
``VideoFileCamera`` and ``SceneCamera`` (the simulated camera: an empty lobby
until a scene is shown). OpenCV is imported only inside the drivers.
Frames live in memory only: nothing here writes an image.
"""

from __future__ import annotations

import abc
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt

from hardware.errors import DeviceError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})
VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mkv", ".mov", ".webm"})


class CameraError(DeviceError):
    """Base of the camera errors."""


class CameraUnavailableError(CameraError):
    """The camera or source cannot be opened."""


class FrameError(CameraError):
    """A frame could not be read or is not a usable image."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One RGB image (height x width x 3, uint8) and when it was taken."""

    rgb: npt.NDArray[np.uint8]
    t_ms: float
    source: str = ""


class Camera(abc.ABC):
    """A source of frames; subclasses implement ``_read``."""

    max_side = 4096

    def read(self) -> Frame | None:
        """The next frame, or ``None`` when a file source is exhausted.

        Raises:
            FrameError: If the driver fails or gives something that is not an RGB image.
        """
        try:
            frame = self._read()
        except CameraError:
            raise
        except Exception as err:
            raise FrameError(f"{type(self).__name__}: {err}") from err
        if frame is None:
            return None
        img = frame.rgb
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise FrameError(f"frame is not an RGB uint8 image: shape {img.shape}, {img.dtype}")
        if max(img.shape[:2]) > self.max_side or min(img.shape[:2]) < 16:
            raise FrameError(f"frame size {img.shape[1]}x{img.shape[0]} is out of range")
        return frame

    @abc.abstractmethod
    def _read(self) -> Frame | None:
        """Read one frame (driver-specific)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the device."""

    def __enter__(self) -> Camera:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _cv2() -> Any:
    try:
        import cv2
    except ImportError as err:
        raise CameraUnavailableError("OpenCV (opencv-python-headless) is not installed") from err
    return cv2


class ImageFolderCamera(Camera):
    """Frames from one image file or the images of a folder (sorted by name).

    Each image is one frame, ``interval_ms`` apart; ``repeat`` shows each
    image that many times in a row (a still person in front of the kiosk).
    """

    def __init__(self, path: Path, interval_ms: float = 100.0, repeat: int = 1) -> None:
        """Open ``path`` (a file or a folder).

        Raises:
            CameraUnavailableError: If there is no image there.
            ValueError: If ``interval_ms`` or ``repeat`` is not positive.
        """
        if interval_ms <= 0 or repeat < 1:
            raise ValueError("interval_ms and repeat must be positive")
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        elif path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
            files = [path]
        else:
            files = []
        if not files:
            raise CameraUnavailableError(f"no images at {path}")
        self._files = [f for f in files for _ in range(repeat)]
        self._i = 0
        self.interval_ms = interval_ms

    def _read(self) -> Frame | None:
        if self._i >= len(self._files):
            return None
        path = self._files[self._i]
        t_ms = self._i * self.interval_ms
        self._i += 1  # a bad image is skipped, never read again
        cv2 = _cv2()
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise FrameError(f"cannot decode image {path.name}")
        return Frame(rgb=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), t_ms=t_ms, source=path.name)


class VideoFileCamera(Camera):
    """Frames of a video file, timed by the file's own timestamps."""

    def __init__(self, path: Path) -> None:
        """Open the video.

        Raises:
            CameraUnavailableError: If OpenCV cannot open it.
        """
        cv2 = _cv2()
        self._cap = cv2.VideoCapture(str(path))
        if not self._cap.isOpened():
            raise CameraUnavailableError(f"cannot open video {path}")
        self._name = path.name
        self._n = 0
        fps = float(self._cap.get(cv2.CAP_PROP_FPS)) or 25.0
        self._step = 1000.0 / fps

    def _read(self) -> Frame | None:
        cv2 = _cv2()
        ok, bgr = self._cap.read()
        if not ok:
            return None
        frame = Frame(rgb=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), t_ms=self._n * self._step, source=self._name)
        self._n += 1
        return frame

    def close(self) -> None:
        """Release the file."""
        self._cap.release()


class OpenCVCamera(Camera):
    """A real camera through OpenCV (V4L2 on Linux); timestamps from the device."""

    def __init__(self, index: int = 0, width: int = 640, height: int = 480) -> None:
        """Open camera ``index`` at about ``width`` x ``height``.

        Raises:
            CameraUnavailableError: If there is no such camera.
        """
        cv2 = _cv2()
        self._cap = cv2.VideoCapture(index)
        if not self._cap.isOpened():
            raise CameraUnavailableError(f"no camera at index {index}")
        self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        self._index = index

    def _read(self) -> Frame | None:
        cv2 = _cv2()
        ok, bgr = self._cap.read()
        if not ok:
            raise FrameError(f"camera {self._index} gave no frame")
        t_ms = float(self._cap.get(cv2.CAP_PROP_POS_MSEC))
        return Frame(rgb=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), t_ms=t_ms, source=f"camera:{self._index}")

    def close(self) -> None:
        """Release the camera."""
        self._cap.release()


def open_source(path: Path, interval_ms: float = 100.0, repeat: int = 1) -> Camera:
    """A file-backed camera for ``path``: a video file, an image, or a folder of images.

    Raises:
        CameraUnavailableError: If ``path`` holds no usable source.
    """
    if path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES:
        return VideoFileCamera(path)
    return ImageFolderCamera(path, interval_ms=interval_ms, repeat=repeat)


def lobby_frame(width: int = 640, height: int = 480) -> npt.NDArray[np.uint8]:
    """An empty lobby wall (a soft gradient, no face)."""
    ramp = np.linspace(150, 210, width, dtype=np.uint8)
    return np.ascontiguousarray(np.broadcast_to(ramp[None, :, None], (height, width, 3)))


class SceneCamera(Camera):
    """A simulated camera showing whatever scene is set (the empty lobby until someone "walks up").

    Frames go through the real face detector; only the scene is simulated.
    ``show`` is thread-safe.
    """

    def __init__(self, empty: npt.NDArray[np.uint8] | None = None) -> None:
        self._empty = lobby_frame() if empty is None else empty
        self._scene = self._empty
        self._lock = threading.Lock()
        self._n = 0

    def show(self, rgb: npt.NDArray[np.uint8] | None) -> None:
        """Show ``rgb`` from now on; None shows the empty lobby again."""
        with self._lock:
            self._scene = self._empty if rgb is None else rgb

    @property
    def scene(self) -> npt.NDArray[np.uint8] | None:
        """What the camera shows now (None: the empty lobby)."""
        with self._lock:
            return None if self._scene is self._empty else self._scene

    def _read(self) -> Frame | None:
        with self._lock:
            self._n += 1
            return Frame(rgb=self._scene, t_ms=0.0, source="scene")
