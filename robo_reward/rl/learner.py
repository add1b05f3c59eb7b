"""Thin adapter from :class:`AlgoConfig` to SB3 SAC / PPO (no reward logic here)."""

from __future__ import annotations

import logging
from typing import Any

from stable_baselines3 import PPO, SAC
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecEnv

from robo_reward.rl.config import AlgoConfig, AlgoName

logger = logging.getLogger(__name__)

ALGOS: dict[AlgoName, type[BaseAlgorithm]] = {AlgoName.sac: SAC, AlgoName.ppo: PPO}


def build_algo(cfg: AlgoConfig, env: VecEnv, *, seed: int, device: str = "auto", tensorboard_log: str | None = None,
               verbose: int = 0) -> BaseAlgorithm:
    """A fresh SB3 learner for ``env`` configured from ``cfg``."""
    common: dict[str, Any] = dict(
        policy="MlpPolicy", env=env, learning_rate=cfg.learning_rate, gamma=cfg.gamma, batch_size=cfg.batch_size,
        policy_kwargs={"net_arch": list(cfg.net_arch)}, seed=seed, device=device,
        tensorboard_log=tensorboard_log, verbose=verbose,
    )
    if cfg.name is AlgoName.sac:
        return SAC(buffer_size=cfg.buffer_size, learning_starts=cfg.learning_starts, train_freq=cfg.train_freq,
                   gradient_steps=cfg.gradient_steps, tau=cfg.tau,
                   ent_coef=cfg.ent_coef if cfg.ent_coef.startswith("auto") else float(cfg.ent_coef), **common)
    ent = 0.0 if cfg.ent_coef.startswith("auto") else float(cfg.ent_coef)
    return PPO(n_steps=cfg.n_steps, n_epochs=cfg.n_epochs, gae_lambda=cfg.gae_lambda, clip_range=cfg.clip_range,
               ent_coef=ent, **common)


def load_algo(cfg: AlgoConfig, path: str, env: VecEnv, *, device: str = "auto",
              tensorboard_log: str | None = None) -> BaseAlgorithm:
    """Load a learner saved by SB3 (``model.save``) and attach ``env``."""
    return ALGOS[cfg.name].load(path, env=env, device=device, tensorboard_log=tensorboard_log)
