"""Real mediapipe face detection on a real photo, camera drivers on real files, `kiosk presence`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edge_models.vision import FaceDetector, VisionError
from hardware.camera import CameraUnavailableError, FrameError, ImageFolderCamera, VideoFileCamera, open_source
from kiosk.runtime.presence import PresenceTracker

KIOSK = Path(sys.executable).parent / "kiosk"


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """A real portrait photo shipped with matplotlib (Grace Hopper), as RGB."""
    import cv2
    from matplotlib import cbook

    path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    return np.ascontiguousarray(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB))


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    det = FaceDetector()
    yield det  # type: ignore[misc]
    det.close()


def empty_scene(shape: tuple[int, ...]) -> np.ndarray:
    """A plain lobby wall with a gradient: no face."""
    h, w = shape[:2]
    ramp = np.linspace(150, 210, w, dtype=np.uint8)
    return np.ascontiguousarray(np.broadcast_to(ramp[None, :, None], (h, w, 3)))


def far_away(photo: np.ndarray, fraction: float = 0.12) -> np.ndarray:
    """The photo shrunk into a corner of a large empty scene: a passer-by far from the kiosk."""
    import cv2

    scene = empty_scene((1080, 1920, 3)).copy()
    small = cv2.resize(photo, None, fx=fraction * 1920 / photo.shape[1], fy=fraction * 1920 / photo.shape[1])
    scene[40 : 40 + small.shape[0], 60 : 60 + small.shape[1]] = small
    return scene


def write(folder: Path, frames: list[np.ndarray]) -> Path:
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    for i, rgb in enumerate(frames):
        cv2.imwrite(str(folder / f"{i:04d}.jpg"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return folder


def test_detects_the_face_in_a_real_photo(detector: FaceDetector, photo: np.ndarray) -> None:
    faces = detector.detect(photo)
    assert len(faces) == 1
    face = faces[0]
    assert face.score > 0.85
    cx, cy = face.centre
    assert 0.4 < cx < 0.65
    assert 0.3 < cy < 0.55
    assert 0.25 < face.w < 0.55


def test_no_face_in_an_empty_scene(detector: FaceDetector, photo: np.ndarray) -> None:
    assert detector.detect(empty_scene(photo.shape)) == ()


def test_bad_image_is_a_clear_error(detector: FaceDetector) -> None:
    with pytest.raises(VisionError, match="RGB uint8"):
        detector.detect(np.zeros((10, 10), dtype=np.uint8))


def test_a_face_arrives_and_leaves(detector: FaceDetector, photo: np.ndarray, tmp_path: Path) -> None:
    frames = [photo] * 12 + [empty_scene(photo.shape)] * 35
    camera = ImageFolderCamera(write(tmp_path / "seq", frames), interval_ms=100)
    tracker = PresenceTracker()
    events = []
    last = 0.0
    while (frame := camera.read()) is not None:
        events += tracker.update(detector.detect(frame.rgb), frame.t_ms - last)
        last = frame.t_ms
    assert [e.kind for e in events] == ["arrived", "left"]
    assert events[0].t_ms == pytest.approx(800)
    assert events[1].t_ms >= events[0].t_ms + 3000


def test_a_far_passer_by_does_not_arrive(detector: FaceDetector, photo: np.ndarray) -> None:
    tracker = PresenceTracker()
    scene = far_away(photo)
    events = [e for _ in range(30) for e in tracker.update(detector.detect(scene), 100)]
    assert events == []


def test_video_file_driver_reads_frames_in_order(photo: np.ndarray, tmp_path: Path) -> None:
    import cv2

    path = tmp_path / "walk_in.avi"
    h, w = photo.shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (w, h))
    for rgb in [empty_scene(photo.shape)] * 3 + [photo] * 3:
        writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    writer.release()
    with open_source(path) as camera:
        assert isinstance(camera, VideoFileCamera)
        frames = []
        while (frame := camera.read()) is not None:
            frames.append(frame)
    assert [round(f.t_ms) for f in frames] == [0, 100, 200, 300, 400, 500]
    assert frames[0].rgb.shape == photo.shape
    assert frames[-1].rgb.mean() < frames[0].rgb.mean() + 60


def test_a_corrupt_image_is_an_error_and_the_next_frame_still_reads(photo: np.ndarray, tmp_path: Path) -> None:
    folder = write(tmp_path / "mixed", [photo, photo])
    (folder / "0000b.jpg").write_bytes(b"not a jpeg")
    camera = ImageFolderCamera(folder)
    assert camera.read() is not None
    with pytest.raises(FrameError, match="cannot decode"):
        camera.read()
    assert camera.read() is not None
    assert camera.read() is None


def test_missing_source_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(CameraUnavailableError, match="no images"):
        open_source(tmp_path)


def test_cli_presence_prints_events(photo: np.ndarray, tmp_path: Path) -> None:
    folder = write(tmp_path / "walk", [photo] * 6 + [empty_scene(photo.shape)] * 8)
    done = subprocess.run(
        [str(KIOSK), "presence", str(folder), "--interval-ms", "200", "--leave-ms", "1000"],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    lines = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert [line.get("kind") for line in lines[:-1]] == ["arrived", "left"]
    assert lines[0]["frame"] == "0004.jpg"
    assert lines[-1] == {"frames": 14, "present": False}


def test_cli_presence_rejects_a_missing_source(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(KIOSK), "presence", str(tmp_path / "nothing")], capture_output=True, timeout=60, check=False
    )
    assert done.returncode == 1
    assert b"no images" in done.stderr
