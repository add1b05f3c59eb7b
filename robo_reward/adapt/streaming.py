"""An adapted reward directory as a streaming, batched progress model (the shared BatchedProgressModel).

The adapted heads score each frame on its own (progress is a function of the state, which is what
potential-based shaping needs), so streaming keeps no per-environment state: ``reset`` and ``step`` both
encode the given frames and score them. Batched: one backbone call per view for all environments.
"""

from __future__ import annotations

import logging
from typing import Mapping, Sequence

import numpy as np
import torch

from robo_reward.adapt.embed import FrameEncoder, build_encoder
from robo_reward.adapt.reward_dir import RewardBundle, load_reward_dir
from robo_reward.types import FrameBatch, ProgressOutput

logger = logging.getLogger(__name__)


class AdaptedStreamer:
    """``BatchedProgressModel`` over an adapted reward (``robo-reward adapt`` output)."""

    def __init__(self, bundle: RewardBundle, encoder: FrameEncoder, num_envs: int, views: Sequence[str] | None = None) -> None:
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        use = list(views) if views is not None else list(bundle.views)
        unknown = [v for v in use if v not in bundle.views]
        if unknown:
            raise ValueError(f"views {unknown} are not in the adapted reward (it has {bundle.views})")
        self.bundle = bundle
        self.encoder = encoder
        self._num_envs = num_envs
        self._views = tuple(use)

    @property
    def num_envs(self) -> int:
        return self._num_envs

    @property
    def views(self) -> tuple[str, ...]:
        return self._views

    def _score(self, frames: Mapping[str, FrameBatch], n: int) -> ProgressOutput:
        missing = [v for v in self._views if v not in frames]
        if missing:
            raise ValueError(f"frames lack views {missing}; this reward uses {list(self._views)}")
        emb = {}
        for v in self._views:
            x = frames[v]
            x = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
            if x.ndim != 4 or x.shape[0] != n or x.shape[-1] != 3:
                raise ValueError(f"view {v!r}: expected ({n}, H, W, 3) uint8 frames, got {x.shape}")
            emb[v] = self.encoder.encode_frames(x)
        return self.bundle.model.score(emb)

    def reset(self, env_ids: Sequence[int] | np.ndarray | torch.Tensor, frames: Mapping[str, FrameBatch]) -> ProgressOutput:
        ids = np.asarray(env_ids.cpu() if isinstance(env_ids, torch.Tensor) else env_ids).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= self._num_envs):
            raise ValueError(f"env_ids {ids.tolist()} out of range for {self._num_envs} environments")
        return self._score(frames, int(ids.size))

    def step(self, frames: Mapping[str, FrameBatch]) -> ProgressOutput:
        return self._score(frames, self._num_envs)


def load_adapted_streamer(directory: str, num_envs: int, views: Sequence[str] | None = None) -> AdaptedStreamer:
    bundle = load_reward_dir(directory)
    return AdaptedStreamer(bundle, build_encoder(dict(bundle.backbone)), num_envs, views)
