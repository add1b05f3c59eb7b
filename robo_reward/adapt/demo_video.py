"""Read an episode given as one video per camera view (a directory) or as a single video file (one view).

No robot, no environment, no metadata needed: any fps, any resolution, any view names (file stem = view name).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from robo_reward.adapt.errors import InputError
from robo_reward.data.video import VIDEO_SUFFIXES, VideoError, read_video

logger = logging.getLogger(__name__)


@dataclass
class VideoEpisode:
    """Frames of all views of one episode, aligned frame by frame."""

    frames: dict[str, np.ndarray]  # view -> (T, H, W, 3) uint8 RGB
    fps: float
    source: Path
    trimmed: int = 0  # frames dropped from the longer views to align them

    @property
    def views(self) -> tuple[str, ...]:
        return tuple(self.frames)

    @property
    def num_frames(self) -> int:
        return int(next(iter(self.frames.values())).shape[0])


def list_view_files(path: str | os.PathLike[str]) -> dict[str, Path]:
    """Map view name -> video file for an episode directory or a single video file.

    Raises:
        InputError: the path does not exist, is not a video, or the directory holds no video / two videos of one view.
    """
    path = Path(path)
    if path.is_file():
        if path.suffix.lower() not in VIDEO_SUFFIXES:
            raise InputError(f"{path}: not a video file (expected one of {', '.join(VIDEO_SUFFIXES)})")
        return {path.stem: path}
    if not path.is_dir():
        raise InputError(f"{path}: no such episode (give a video file or a directory with one video per view)")
    files: dict[str, Path] = {}
    for p in sorted(path.iterdir()):
        if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES and not p.name.startswith("."):
            if p.stem in files:
                raise InputError(f"{path}: two videos for view {p.stem!r} ({files[p.stem].name}, {p.name}); keep one")
            files[p.stem] = p
    if not files:
        raise InputError(f"{path}: directory holds no video ({', '.join(VIDEO_SUFFIXES)}); one file per camera view expected")
    return files


def _downscale(frames: np.ndarray, max_side: int) -> np.ndarray:
    """Shrink (T, H, W, 3) frames so that max(H, W) <= max_side (area interpolation); no-op when already small."""
    h, w = frames.shape[1:3]
    if max(h, w) <= max_side:
        return frames
    s = max_side / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return np.stack([cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames])


def load_video_episode(
    path: str | os.PathLike[str],
    views: list[str] | None = None,
    max_side: int = 320,
    length_tolerance: int = 3,
) -> VideoEpisode:
    """Decode every view of an episode.

    Args:
        path: an episode directory (``<view>.<mp4|avi|webm|mkv>`` per camera) or a single video file.
        views: decode only these views (default: all).
        max_side: frames larger than this are shrunk at load time (the backbone resizes anyway).
        length_tolerance: views may differ by at most this many frames (encoders drop or add a frame at the
            end); the longer ones are cut to the shortest. Larger differences are an error.

    Raises:
        InputError: unreadable or empty video, or views of different lengths beyond ``length_tolerance``.
    """
    files = list_view_files(path)
    if views is not None:
        files = {v: files[v] for v in views}
    frames: dict[str, np.ndarray] = {}
    fps_by_view: dict[str, float] = {}
    for view, file in files.items():
        try:
            fr, fps = read_video(file)
        except VideoError as exc:
            raise InputError(str(exc)) from exc
        except cv2.error as exc:  # pragma: no cover - decoder crash on corrupt data
            raise InputError(f"{file}: cannot decode video ({str(exc).strip().splitlines()[-1]})") from exc
        frames[view] = _downscale(fr, max_side)
        fps_by_view[view] = fps
    lengths = {v: int(f.shape[0]) for v, f in frames.items()}
    lo, hi = min(lengths.values()), max(lengths.values())
    if hi - lo > length_tolerance:
        raise InputError(
            f"{path}: views have different lengths {lengths} (more than {length_tolerance} frames apart); "
            "re-export the views from one recording"
        )
    if hi != lo:
        logger.warning("views differ by %d frame(s) %s; cutting all to %d", hi - lo, lengths, lo)
        frames = {v: f[:lo] for v, f in frames.items()}
    fps_values = sorted({round(f, 3) for f in fps_by_view.values() if f > 0})
    if len(fps_values) > 1:
        logger.warning("views claim different fps %s; using %s", fps_by_view, fps_values[0])
    fps = fps_values[0] if fps_values else 0.0
    return VideoEpisode(frames=frames, fps=fps, source=Path(path), trimmed=hi - lo)
