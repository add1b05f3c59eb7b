"""Reading and writing per-camera videos (RGB uint8 frames) with OpenCV.

OpenCV is used rather than a pure-Python decoder because it reads every container we accept (mp4, avi, webm,
mkv) from one dependency already needed for image work; H.264 needs imageio-ffmpeg, so we write ``mp4v``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from robo_reward.data.atomic import atomic_path

logger = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".avi", ".webm", ".mkv")
_FOURCC = {".mp4": "mp4v", ".avi": "MJPG", ".webm": "VP80", ".mkv": "MJPG"}


class VideoError(ValueError):
    """A video file is missing, unreadable, empty or inconsistent. The message names the file."""


@dataclass(frozen=True)
class VideoInfo:
    num_frames: int
    fps: float
    height: int
    width: int


def probe_video(path: str | os.PathLike[str]) -> VideoInfo:
    """Container metadata of ``path`` without decoding every frame (the frame count is the container's claim)."""
    path = Path(path)
    if not path.is_file():
        raise VideoError(f"{path}: video file not found")
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise VideoError(f"{path}: cannot open video (unreadable or unsupported container)")
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        fps = float(cap.get(cv2.CAP_PROP_FPS)) or 0.0
        h = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        w = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
    finally:
        cap.release()
    return VideoInfo(num_frames=n, fps=fps, height=h, width=w)


def read_video(path: str | os.PathLike[str], max_frames: int | None = None) -> tuple[np.ndarray, float]:
    """Decode a whole video.

    Returns:
        frames: (T, H, W, 3) uint8 RGB.
        fps: frames per second claimed by the container (0.0 if it claims none).

    Raises:
        VideoError: the file is missing, cannot be opened, or holds no decodable frame.
    """
    path = Path(path)
    if not path.is_file():
        raise VideoError(f"{path}: video file not found")
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise VideoError(f"{path}: cannot open video (unreadable or unsupported container)")
        fps = float(cap.get(cv2.CAP_PROP_FPS)) or 0.0
        frames: list[np.ndarray] = []
        while max_frames is None or len(frames) < max_frames:
            ok, bgr = cap.read()
            if not ok:
                break
            frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    finally:
        cap.release()
    if not frames:
        raise VideoError(f"{path}: no decodable frame (empty or corrupt video)")
    return np.stack(frames), fps


def write_video(path: str | os.PathLike[str], frames: np.ndarray, fps: float) -> Path:
    """Write (T, H, W, 3) uint8 RGB frames atomically (temp file in the same folder, then ``os.replace``)."""
    path = Path(path)
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"write_video({path.name}): expected (T, H, W, 3) uint8 RGB frames, got {frames.shape} {frames.dtype}")
    if len(frames) == 0:
        raise ValueError(f"write_video({path.name}): no frames to write")
    if fps <= 0:
        raise ValueError(f"write_video({path.name}): fps must be > 0, got {fps}")
    suffix = path.suffix.lower()
    if suffix not in _FOURCC:
        raise ValueError(f"write_video: unsupported suffix {suffix!r}; use one of {VIDEO_SUFFIXES}")
    h, w = frames.shape[1:3]
    with atomic_path(path) as tmp:
        writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*_FOURCC[suffix]), float(fps), (w, h))
        try:
            if not writer.isOpened():
                raise VideoError(f"{path}: OpenCV cannot write {suffix} with codec {_FOURCC[suffix]}")
            for frame in frames:
                writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        finally:
            writer.release()
    return path
