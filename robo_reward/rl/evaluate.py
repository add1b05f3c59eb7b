"""Policy evaluation: success rate and the semantic-trap measure (time spent hovering near the goal)."""

from __future__ import annotations

import logging
from typing import Any, Callable

import gymnasium as gym
import numpy as np

logger = logging.getLogger(__name__)


def evaluate(
    predict: Callable[[np.ndarray], np.ndarray],
    env: gym.Env,
    n_episodes: int,
    *,
    seed: int = 0,
    progress_fn: Callable[[gym.Env], float] | None = None,
    near_goal: float = 0.8,
) -> dict[str, Any]:
    """Roll out ``n_episodes`` with ``predict(obs) -> action`` on a single env.

    Args:
        predict: deterministic policy, obs -> action.
        env: env whose ``info["success"]`` flags success (latched: an episode succeeds once it is seen).
        n_episodes: episodes; episode i is reset with seed ``seed + i``.
        progress_fn: true progress of the env's state; enables the hover measure.
        near_goal: a step with true progress >= near_goal before success counts as hovering.
    Returns:
        ``success_rate``, ``mean_length``, ``hover_fraction`` (mean over episodes of the share of steps spent
        near the goal without having succeeded; None without progress_fn), ``mean_final_progress`` (true progress
        at the last step, averaged: how far the policy gets where the success rate is 0; None without progress_fn),
        ``successes`` (per episode).
    """
    successes, lengths, hovers, finals = [], [], [], []
    for i in range(n_episodes):
        obs, _ = env.reset(seed=seed + i)
        done, succeeded, steps, hover = False, False, 0, 0
        while not done:
            obs, _, terminated, truncated, info = env.step(predict(obs))
            steps += 1
            succeeded = succeeded or bool(info.get("success", False))
            if progress_fn is not None and not succeeded and progress_fn(env) >= near_goal:
                hover += 1
            done = terminated or truncated
        successes.append(succeeded)
        lengths.append(steps)
        hovers.append(hover / max(steps, 1))
        if progress_fn is not None:
            finals.append(float(progress_fn(env)))
    return {
        "success_rate": float(np.mean(successes)) if successes else 0.0,
        "mean_length": float(np.mean(lengths)) if lengths else 0.0,
        "hover_fraction": float(np.mean(hovers)) if progress_fn is not None and hovers else None,
        "mean_final_progress": float(np.mean(finals)) if finals else None,
        "successes": [bool(s) for s in successes],
    }
