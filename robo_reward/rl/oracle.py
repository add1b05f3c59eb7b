"""An oracle BatchedProgressModel: the env's *true* progress, read back from :class:`OracleViews` frames.

Used to test the reward plumbing and to benchmark shaping kinds without a trained reward model
(``train.reward_model=oracle``). The true progress travels as a (1, 1, 3) fake camera view, so the oracle
sees exactly the frames a learned model would see, at the same moments.
"""

from __future__ import annotations

import logging
from typing import Sequence

import gymnasium as gym
import numpy as np
import torch

from robo_reward.rl.env_wrappers import decode_progress
from robo_reward.types import MultiViewFrames, ProgressOutput

logger = logging.getLogger(__name__)


def task_progress(env: gym.Env) -> float:
    """True progress of a ``robo_reward.sim`` env's current state, in [0, 1].

    Uses ``task.progress()`` if the task defines it; otherwise stage-based:
    ``1.0`` on success, else ``stage_index / len(stage_names)``.
    """
    task = getattr(env.unwrapped, "task", None)
    if task is None:
        raise ValueError(f"{type(env.unwrapped).__name__} has no .task; pass progress_fn explicitly for this env.")
    if hasattr(task, "progress"):
        return float(task.progress())
    if task.success():
        return 1.0
    return float(task.stage_index()) / float(len(task.stage_names))


class OracleProgressModel:
    """BatchedProgressModel returning the progress encoded by :class:`~robo_reward.rl.env_wrappers.OracleViews`.

    Args:
        num_envs: N.
        view: name of the fake view carrying the progress.
        success_at: success_prob = 1 where progress >= success_at.
        device: device of the returned tensors.
    """

    def __init__(self, num_envs: int, view: str = "oracle", success_at: float = 0.999, device: str = "cpu"):
        self._num_envs = num_envs
        self._views = (view,)
        self.success_at = success_at
        self.device = torch.device(device)
        self.step_calls = 0
        self.reset_calls: list[list[int]] = []

    @property
    def num_envs(self) -> int:
        return self._num_envs

    @property
    def views(self) -> tuple[str, ...]:
        return self._views

    def _out(self, frames: MultiViewFrames, n: int) -> ProgressOutput:
        img = frames[self._views[0]]
        img_np = img.cpu().numpy() if isinstance(img, torch.Tensor) else np.asarray(img)
        if img_np.shape[0] != n:
            raise ValueError(f"expected frames for {n} envs, got {img_np.shape[0]}.")
        p = torch.as_tensor(decode_progress(img_np), dtype=torch.float32, device=self.device)
        return ProgressOutput(p, (p >= self.success_at).to(torch.float32), torch.zeros_like(p))

    def reset(self, env_ids: Sequence[int] | np.ndarray | torch.Tensor, frames: MultiViewFrames) -> ProgressOutput:
        ids = [int(i) for i in torch.as_tensor(np.asarray(env_ids)).reshape(-1)]
        self.reset_calls.append(ids)
        return self._out(frames, len(ids))

    def step(self, frames: MultiViewFrames) -> ProgressOutput:
        self.step_calls += 1
        return self._out(frames, self._num_envs)
