"""Reward shaping: pure term functions, their configuration and a per-env composer."""

from robo_reward.shaping.composer import ShapedReward
from robo_reward.shaping.config import ModelSuccess, ShapingConfig, ShapingKind, SparseSource
from robo_reward.shaping.terms import delta, env_success, model_success, naive, pbrs, sigmoid, terminal_potential

__all__ = [
    "ModelSuccess", "ShapedReward", "ShapingConfig", "ShapingKind", "SparseSource",
    "delta", "env_success", "model_success", "naive", "pbrs", "sigmoid", "terminal_potential",
]
