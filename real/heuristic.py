"""``heuristic``: an honest, image-based progress scorer for the sim's colour-coded tasks (no learning).

Rule (per view, per environment): segment the *object* colour (default: red, the pick-and-place cube) and the
*goal* colour (default: green, the target disc) with channel-ratio thresholds; ``d`` = distance between the two
pixel centroids divided by the image diagonal; ``d0`` = that distance in the episode's first frame (at least
``min_d0``). Progress of the view = ``clip(1 - d / d0, 0, 1)``; progress = mean over the views where both
colours are visible (>= ``min_pixels`` pixels), else the previous value is kept. ``success_prob`` =
``sigmoid(slope * (progress - success_at))``; ``uncertainty`` = standard deviation across the usable views.

It implements :class:`robo_reward.types.BatchedProgressModel`, so the reward node, the bag scorer and the tests
can run before (or without) a learned model.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from robo_reward.types import MultiViewFrames, ProgressOutput

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ColourRule:
    """A pixel is of this colour if ``channel >= min_value`` and ``channel >= ratio * each other channel``."""

    channel: int  # 0 = R, 1 = G, 2 = B
    min_value: int = 70
    ratio: float = 1.6

    def mask(self, rgb: np.ndarray) -> np.ndarray:
        """(N, H, W, 3) uint8 -> (N, H, W) bool."""
        x = rgb.astype(np.int16)
        c = x[..., self.channel]
        others = [x[..., i] for i in range(3) if i != self.channel]
        m = c >= self.min_value
        for o in others:
            m &= c * 10 >= (self.ratio * 10) * o
        return m


RED = ColourRule(0, 70, 1.8)
GREEN = ColourRule(1, 70, 1.6)


def _to_numpy(frames: np.ndarray | torch.Tensor) -> np.ndarray:
    arr = frames.detach().cpu().numpy() if isinstance(frames, torch.Tensor) else np.asarray(frames)
    if arr.ndim != 4 or arr.shape[-1] != 3:
        raise ValueError(f"heuristic model expects frames (N, H, W, 3) uint8 per view, got shape {arr.shape}")
    return arr


class HeuristicProgressModel:
    """Colour-centroid progress for ``num_envs`` environments over ``views`` (see module docstring)."""

    def __init__(
        self,
        views: Sequence[str],
        num_envs: int = 1,
        object_colour: ColourRule = RED,
        goal_colour: ColourRule = GREEN,
        min_pixels: int = 4,
        min_d0: float = 0.05,
        success_at: float = 0.85,
        slope: float = 20.0,
    ) -> None:
        if not views:
            raise ValueError("HeuristicProgressModel needs at least one view name")
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        self._views = tuple(views)
        self._n = int(num_envs)
        self.object_colour, self.goal_colour = object_colour, goal_colour
        self.min_pixels, self.min_d0 = int(min_pixels), float(min_d0)
        self.success_at, self.slope = float(success_at), float(slope)
        self._d0 = np.full((self._n, len(self._views)), np.nan)  # (N, V)
        self._last = np.zeros(self._n)

    @property
    def num_envs(self) -> int:
        return self._n

    @property
    def views(self) -> tuple[str, ...]:
        return self._views

    def _distances(self, frames: MultiViewFrames, n: int) -> np.ndarray:
        """Normalised centroid distance per (env, view); NaN where a colour is not visible. (n, V)."""
        out = np.full((n, len(self._views)), np.nan)
        for v, view in enumerate(self._views):
            if view not in frames:
                raise ValueError(f"heuristic model needs view {view!r}; got views {sorted(frames)}")
            arr = _to_numpy(frames[view])
            if arr.shape[0] != n:
                raise ValueError(f"view {view!r}: expected {n} frames, got {arr.shape[0]}")
            h, w = arr.shape[1:3]
            diag = float(np.hypot(h, w))
            ys, xs = np.mgrid[0:h, 0:w]
            mo, mg = self.object_colour.mask(arr), self.goal_colour.mask(arr)
            for i in range(n):
                co, cg = mo[i].sum(), mg[i].sum()
                if co < self.min_pixels or cg < self.min_pixels:
                    continue
                po = np.array([xs[mo[i]].mean(), ys[mo[i]].mean()])
                pg = np.array([xs[mg[i]].mean(), ys[mg[i]].mean()])
                out[i, v] = float(np.linalg.norm(po - pg)) / diag
        return out

    def _output(self, d: np.ndarray, d0: np.ndarray, last: np.ndarray) -> tuple[ProgressOutput, np.ndarray]:
        per_view = np.clip(1.0 - d / np.maximum(d0, self.min_d0), 0.0, 1.0)  # (n, V), NaN where unusable
        valid = np.isfinite(per_view)
        cnt = valid.sum(axis=1)
        mean = np.where(cnt > 0, np.nansum(np.where(valid, per_view, 0.0), axis=1) / np.maximum(cnt, 1), last)
        var = np.where(valid, (per_view - mean[:, None]) ** 2, 0.0).sum(axis=1) / np.maximum(cnt, 1)
        succ = 1.0 / (1.0 + np.exp(-self.slope * (mean - self.success_at)))
        out = ProgressOutput(
            torch.as_tensor(mean, dtype=torch.float32),
            torch.as_tensor(succ, dtype=torch.float32),
            torch.as_tensor(np.sqrt(var), dtype=torch.float32),
        )
        return out, mean

    def reset(self, env_ids: Sequence[int] | np.ndarray | torch.Tensor, frames: MultiViewFrames) -> ProgressOutput:
        ids = np.asarray(env_ids.cpu() if isinstance(env_ids, torch.Tensor) else env_ids, dtype=np.int64).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= self._n):
            raise ValueError(f"env_ids must be in [0, {self._n}), got {ids.tolist()}")
        d = self._distances(frames, len(ids))
        self._d0[ids] = d
        out, mean = self._output(d, d, np.zeros(len(ids)))
        self._last[ids] = mean
        return out

    def step(self, frames: MultiViewFrames) -> ProgressOutput:
        d = self._distances(frames, self._n)
        fresh = np.isnan(self._d0) & np.isfinite(d)  # colour first seen after reset: start from here
        self._d0[fresh] = d[fresh]
        out, mean = self._output(d, self._d0, self._last)
        self._last = mean
        return out
