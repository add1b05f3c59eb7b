"""An adapted reward directory as a streaming, batched progress model (the shared BatchedProgressModel).

The adapted heads score each frame on its own (progress is a function of the state, which is what
potential-based shaping needs), so without a base model streaming keeps no per-environment state: ``reset`` and
``step`` both encode the given frames and score them. A reward adapted with ``--base`` also runs the fine-tuned
base model's streaming recursion (per-environment state) and mixes the two as ``RewardBundle.score`` does.
Batched: one backbone call per view for all environments.
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
        self._base = None
        base = bundle.base
        if base is not None and base.head_weight < 1.0 and any(v in base.view_map for v in use):
            self._base = base.scorer.streamer(num_envs, base.references, [base.view_map[v] for v in use if v in base.view_map],
                                              use_text=False)

    @property
    def num_envs(self) -> int:
        return self._num_envs

    @property
    def views(self) -> tuple[str, ...]:
        return self._views

    def _embed(self, frames: Mapping[str, FrameBatch], n: int) -> dict[str, np.ndarray]:
        missing = [v for v in self._views if v not in frames]
        if missing:
            raise ValueError(f"frames lack views {missing}; this reward uses {list(self._views)}")
        emb = {}
        for v in self._views:
            x = frames[v]
            x = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
            if x.ndim != 4 or x.shape[0] != n or x.shape[-1] != 3:
                raise ValueError(f"view {v!r}: expected ({n}, H, W, 3) uint8 frames, got {x.shape}")
            emb[v] = np.asarray(self.encoder.encode_frames(x), np.float32)
        return emb

    def _mix(self, heads: ProgressOutput, base: ProgressOutput | None) -> ProgressOutput:
        if base is None:
            return heads
        assert self.bundle.base is not None
        return self.bundle.base.combine(heads, base.progress.float().cpu(), base.success_prob.float().cpu())

    def _base_emb(self, emb: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        assert self.bundle.base is not None
        return {self.bundle.base.view_map[v]: e for v, e in emb.items() if v in self.bundle.base.view_map}

    def reset(self, env_ids: Sequence[int] | np.ndarray | torch.Tensor, frames: Mapping[str, FrameBatch]) -> ProgressOutput:
        ids = np.asarray(env_ids.cpu() if isinstance(env_ids, torch.Tensor) else env_ids).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= self._num_envs):
            raise ValueError(f"env_ids {ids.tolist()} out of range for {self._num_envs} environments")
        emb = self._embed(frames, int(ids.size))
        base = self._base.reset(ids, self._base_emb(emb)) if self._base is not None else None
        return self._mix(self.bundle.model.score(emb), base)

    def step(self, frames: Mapping[str, FrameBatch]) -> ProgressOutput:
        emb = self._embed(frames, self._num_envs)
        base = self._base.step(self._base_emb(emb)) if self._base is not None else None
        return self._mix(self.bundle.model.score(emb), base)


def load_adapted_streamer(directory: str, num_envs: int, views: Sequence[str] | None = None) -> AdaptedStreamer:
    bundle = load_reward_dir(directory)
    return AdaptedStreamer(bundle, build_encoder(dict(bundle.backbone)), num_envs, views)
