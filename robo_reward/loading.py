"""One loader for every reward-model directory the project writes, as a streaming ``BatchedProgressModel``.

Two kinds exist: the process reward model trained on many tasks (``robo-reward train-reward``, read with
``robo_reward.reward.load_reward_model``) and a reward adapted from one demo (``robo-reward adapt``). The
kind is read from the directory's ``config.json``; callers (RL training, ROS 2 nodes, the pipeline) need not know.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from robo_reward.types import BatchedProgressModel

ADAPTED_FORMAT = "robo_reward.adapt"


def reward_dir_kind(directory: str | Path) -> str:
    """``"adapted"`` or ``"trained"``; raises ValueError naming the directory when it is neither."""
    d = Path(directory)
    cfg = d / "config.json"
    if not d.is_dir() or not cfg.is_file():
        raise ValueError(f"{d}: not a reward-model directory (no config.json); make one with `robo-reward "
                         "train-reward` or `robo-reward adapt`")
    try:
        fmt = json.loads(cfg.read_text()).get("format")
    except json.JSONDecodeError as exc:
        raise ValueError(f"{cfg}: not valid JSON ({exc})") from exc
    return "adapted" if fmt == ADAPTED_FORMAT else "trained"


def load_progress_model(
    directory: str | Path,
    num_envs: int = 1,
    task: str | None = None,
    views: Sequence[str] | None = None,
    device: str = "auto",
    fusion: str = "guarded",
) -> BatchedProgressModel:
    """Stream progress for ``num_envs`` environments from a reward-model directory of either kind.

    ``fusion`` (trained models): "guarded" (the fused, history-smoothed estimate) or "markov" (Phi of the
    current frames only, for potential-based shaping); adapted models always score the current frames.
    """
    if reward_dir_kind(directory) == "adapted":
        from robo_reward.adapt.streaming import load_adapted_streamer

        return load_adapted_streamer(str(directory), num_envs, views)
    from robo_reward.reward.pipeline import load_reward_model

    return load_reward_model(directory, device=device).streamer(num_envs, task=task, views=list(views) if views else None,
                                                                fusion=fusion)
