"""Types shared along the data flow: frames -> backbone -> reward model -> shaping -> learner.

Everything downstream of the reward model (shaping, RL wrappers, the ROS 2 reward node, the Isaac Lab
adapter) talks to it through :class:`BatchedProgressModel`, so any model with this shape plugs in.
"""

from __future__ import annotations

from typing import Mapping, NamedTuple, Protocol, Sequence, Union, runtime_checkable

import numpy as np
import torch

#: A batch of RGB frames for one camera view: (N, H, W, 3) uint8, numpy or torch.
FrameBatch = Union[np.ndarray, torch.Tensor]
#: Frames for several views, keyed by view name (e.g. "front", "side", "wrist").
MultiViewFrames = Mapping[str, FrameBatch]


class ProgressOutput(NamedTuple):
    """What a reward model says about N environments (or N frames) at once."""

    progress: torch.Tensor  # (N,) float32 in [0, 1]: the potential Phi(s)
    success_prob: torch.Tensor  # (N,) float32 in [0, 1]
    uncertainty: torch.Tensor  # (N,) float32 >= 0 (0 = all estimates agree)


@runtime_checkable
class BatchedProgressModel(Protocol):
    """Streaming progress for N parallel environments, with per-environment state.

    ``reset(env_ids, frames)`` starts new episodes in the given environments (frames holds only those
    environments' first observation, view -> (len(env_ids), H, W, 3) uint8) and returns their initial
    progress. ``step(frames)`` takes the newest frame of every environment (view -> (N, H, W, 3)) and
    returns the progress of all N. Tensors come back on the model's device.
    """

    @property
    def num_envs(self) -> int: ...

    @property
    def views(self) -> tuple[str, ...]: ...

    def reset(self, env_ids: Sequence[int] | np.ndarray | torch.Tensor, frames: MultiViewFrames) -> ProgressOutput: ...

    def step(self, frames: MultiViewFrames) -> ProgressOutput: ...
