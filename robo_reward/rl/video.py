"""Rollout video: the camera frames side by side with the progress (or reward) curve up to the current step."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

import cv2
import gymnasium as gym
import numpy as np

logger = logging.getLogger(__name__)


def curve_panel(values: np.ndarray, upto: int, height: int, width: int, label: str,
                vmin: float | None = None, vmax: float | None = None) -> np.ndarray:
    """(height, width, 3) uint8 RGB plot of ``values`` (T,): all of it in grey, ``values[:upto+1]`` in blue."""
    panel = np.full((height, width, 3), 255, np.uint8)
    t = len(values)
    lo = float(np.min(values)) if vmin is None else vmin
    hi = float(np.max(values)) if vmax is None else vmax
    if hi - lo < 1e-9:
        hi = lo + 1.0
    m = 24  # margin (px)
    xs = m + (np.arange(t) / max(t - 1, 1)) * (width - 2 * m)
    ys = height - m - (np.asarray(values, np.float64) - lo) / (hi - lo) * (height - 2 * m)
    pts = np.stack([xs, ys], 1).round().astype(np.int32)
    cv2.rectangle(panel, (m, m), (width - m, height - m), (200, 200, 200), 1)
    cv2.polylines(panel, [pts.reshape(-1, 1, 2)], False, (190, 190, 190), 1, cv2.LINE_AA)
    if upto >= 0:
        cv2.polylines(panel, [pts[: upto + 1].reshape(-1, 1, 2)], False, (30, 90, 220), 2, cv2.LINE_AA)
        cv2.circle(panel, tuple(int(v) for v in pts[upto]), 4, (220, 40, 40), -1, cv2.LINE_AA)
    cv2.putText(panel, f"{label} {values[upto]:.2f}" if upto >= 0 else label, (m, m - 6),
                cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(panel, f"{hi:.2f}", (2, m + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.3, (90, 90, 90), 1, cv2.LINE_AA)
    cv2.putText(panel, f"{lo:.2f}", (2, height - m), cv2.FONT_HERSHEY_SIMPLEX, 0.3, (90, 90, 90), 1, cv2.LINE_AA)
    return panel


def record_rollout(
    predict: Callable[[np.ndarray], np.ndarray],
    env: gym.Env,
    view: str,
    max_steps: int,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, str, bool]:
    """One episode: frames (T+1, H, W, 3) of ``view`` from ``env.unwrapped.render_views()``, the curve (T+1,)
    (``info["progress"]`` when a learned-reward wrapper provides it, else the cumulative env reward), its label
    and whether the episode succeeded."""
    obs, _ = env.reset(seed=seed)
    render = env.unwrapped.render_views  # type: ignore[attr-defined]
    frames, values = [render()[view]], [np.nan]
    label, succeeded, cum = "reward", False, 0.0
    for _ in range(max_steps):
        obs, reward, terminated, truncated, info = env.step(predict(obs))
        cum += float(reward)
        succeeded = succeeded or bool(info.get("success", False))
        if "progress" in info:
            label = "progress"
            values.append(float(info["progress"]))
        else:
            values.append(cum)
        frames.append(render()[view])
        if terminated or truncated:
            break
    vals = np.asarray(values, np.float64)
    vals[0] = vals[1] if len(vals) > 1 and label == "progress" else 0.0
    return np.stack(frames), vals, label, succeeded


def write_rollout_video(path: str | Path, frames: np.ndarray, values: np.ndarray, label: str, fps: float = 10.0,
                        height: int = 256) -> Path:
    """Write frames (T, H, W, 3) with the curve panel beside them as an mp4 (via robo_reward.data.video)."""
    from robo_reward.data.video import write_video

    t, h, w, _ = frames.shape
    width = int(round(w * height / h))
    vmin, vmax = (0.0, 1.0) if label == "progress" else (None, None)
    out = np.empty((t, height, width + 320, 3), np.uint8)
    for i in range(t):
        out[i, :, :width] = cv2.resize(frames[i], (width, height), interpolation=cv2.INTER_NEAREST)
        out[i, :, width:] = curve_panel(values, i, height, 320, label, vmin, vmax)
    return write_video(path, out, fps)
