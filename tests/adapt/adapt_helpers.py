"""Synthetic demo videos for the adapt tests: a coloured block moving through three scripted phases."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

class PixelEncoder:
    """Test-only backbone: frames shrunk to 12x12 and flattened ((N, 432) float32). Deterministic, instant."""

    identity = "test-pixels-12"

    def encode_frames(self, frames: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        small = np.stack([cv2.resize(f, (12, 12), interpolation=cv2.INTER_AREA) for f in frames])
        return small.reshape(len(frames), -1).astype(np.float32) / 255.0


#: phase boundaries of the default 3-phase script (first frame of phases 2 and 3), for 60 frames
PHASES_60 = (20, 40)


def block_frames(
    num_frames: int = 60,
    size: int = 96,
    boundaries: tuple[int, int] = PHASES_60,
    colour: tuple[int, int, int] = (220, 40, 40),
    background: tuple[int, int, int] = (30, 60, 90),
    mirror: bool = False,
    reverse: bool = False,
    stop_at: float | None = None,
) -> np.ndarray:
    """(T, size, size, 3) uint8 RGB: the block goes right, then down, then left (one phase each).

    ``stop_at`` in (0, 1) freezes the motion at that fraction of the script (a "failed" episode).
    """
    b1, b2 = boundaries
    lo, hi = 0.15 * size, 0.75 * size
    pts = []
    for t in range(num_frames):
        if t < b1:
            a = t / max(b1 - 1, 1)
            x, y = lo + a * (hi - lo), lo
        elif t < b2:
            a = (t - b1) / max(b2 - b1 - 1, 1)
            x, y = hi, lo + a * (hi - lo)
        else:
            a = (t - b2) / max(num_frames - b2 - 1, 1)
            x, y = hi - a * (hi - lo), hi
        pts.append((x, y))
    if stop_at is not None:
        k = int(stop_at * (num_frames - 1))
        pts = pts[:k] + [pts[k]] * (num_frames - k)
    frames = np.empty((num_frames, size, size, 3), np.uint8)
    side = int(0.12 * size)
    for t, (x, y) in enumerate(pts):
        f = np.empty((size, size, 3), np.uint8)
        f[:] = background
        f[:, :, 2] = np.linspace(background[2], 200, size, dtype=np.uint8)[None, :]  # a gradient so position matters
        cv2.rectangle(f, (int(x), int(y)), (int(x) + side, int(y) + side), colour, -1)
        frames[t] = f[:, ::-1] if mirror else f
    return frames[::-1].copy() if reverse else frames


def write(path: Path, frames: np.ndarray, fps: float = 15.0, fourcc: str | None = None) -> Path:
    """Write RGB frames with OpenCV (codec from the suffix unless given)."""
    codec = fourcc or {".mp4": "mp4v", ".avi": "MJPG", ".webm": "VP80", ".mkv": "MJPG"}[path.suffix]
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = frames.shape[1:3]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), fps, (w, h))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write {path.suffix} with {codec}")
    for f in frames:
        writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def fade_frames(num_frames: int, boundaries: tuple[int, ...], size: int = 64) -> np.ndarray:
    """(T, size, size, 3) uint8: phase k fades patch k in (red, green, blue patches in turn), then holds it.

    Each phase changes a different image region at a constant rate, so it is one straight line in pixel space:
    the scripted ground truth for stage discovery is ``boundaries`` (first frame of each later phase).
    """
    starts = (0, *boundaries)
    ends = (*boundaries, num_frames)
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]
    q = size // 4
    frames = np.full((num_frames, size, size, 3), 40, np.float32)
    for k, (s, e) in enumerate(zip(starts, ends)):
        alpha = np.clip((np.arange(num_frames) - s + 1) / (e - s), 0, 1)[:, None, None, None]
        y0, x0 = (k // 2) * 2 * q, (k % 2) * 2 * q
        patch = frames[:, y0 : y0 + 2 * q, x0 : x0 + 2 * q]
        frames[:, y0 : y0 + 2 * q, x0 : x0 + 2 * q] = patch * (1 - alpha) + np.array(colours[k % 4], np.float32) * alpha
    return np.clip(frames, 0, 255).astype(np.uint8)
