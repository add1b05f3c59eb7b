"""Thin adapter from :class:`AlgoConfig` to SB3 SAC / PPO (no reward logic here)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from stable_baselines3 import PPO, SAC
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.noise import ActionNoise
from stable_baselines3.common.vec_env import VecEnv

from robo_reward.rl.config import AlgoConfig, AlgoName

logger = logging.getLogger(__name__)


class DemoSAC(SAC):
    """SAC whose first ``demo_steps`` env steps follow the sub-envs' scripted experts.

    Each sub-env must offer ``expert_action()`` (:class:`robo_reward.rl.env_wrappers.ExpertActions`). The demo
    steps replace SAC's uniform-random warm-up: their transitions are collected by SB3's own rollout loop, so
    they get the configured reward (sparse, expert or learned) and sit in the replay buffer like any other
    transition; gradient updates start at ``learning_starts`` as usual. With ``demo_steps = 0`` this is SAC.
    Why this and not a behaviour-cloning term: it needs no change to SAC's losses, and every reward under
    comparison sees exactly the same demonstrations.
    """

    demo_steps: int = 0

    def _sample_action(self, learning_starts: int, action_noise: ActionNoise | None = None,
                       n_envs: int = 1) -> tuple[np.ndarray, np.ndarray]:
        if self.num_timesteps < self.demo_steps:
            action = np.stack(self.env.env_method("expert_action")).astype(np.float32)
            return action, self.policy.scale_action(action)
        return super()._sample_action(learning_starts, action_noise, n_envs)


ALGOS: dict[AlgoName, type[BaseAlgorithm]] = {AlgoName.sac: DemoSAC, AlgoName.ppo: PPO}


def _silent_unless_logging(model: BaseAlgorithm, tensorboard_log: str | None, verbose: int) -> BaseAlgorithm:
    """Without TensorBoard and verbose output, give ``model`` a logger that writes nowhere.

    SB3's default logger then has no output but still creates an empty ``$TMPDIR/SB3-<date>`` folder on every
    ``learn()``; a custom logger is kept by ``learn()`` (values are still recorded for callbacks)."""
    if tensorboard_log is None and verbose == 0:
        model.set_logger(Logger(folder=None, output_formats=[]))
    return model


def build_algo(cfg: AlgoConfig, env: VecEnv, *, seed: int, device: str = "auto", tensorboard_log: str | None = None,
               verbose: int = 0, demo_steps: int = 0) -> BaseAlgorithm:
    """A fresh SB3 learner for ``env`` configured from ``cfg`` (SAC: :class:`DemoSAC` with ``demo_steps``)."""
    common: dict[str, Any] = dict(
        policy="MlpPolicy", env=env, learning_rate=cfg.learning_rate, gamma=cfg.gamma, batch_size=cfg.batch_size,
        policy_kwargs={"net_arch": list(cfg.net_arch)}, seed=seed, device=device,
        tensorboard_log=tensorboard_log, verbose=verbose,
    )
    model: BaseAlgorithm
    if cfg.name is AlgoName.sac:
        model = DemoSAC(buffer_size=cfg.buffer_size, learning_starts=cfg.learning_starts, train_freq=cfg.train_freq,
                        gradient_steps=cfg.gradient_steps, tau=cfg.tau,
                        ent_coef=cfg.ent_coef if cfg.ent_coef.startswith("auto") else float(cfg.ent_coef), **common)
        model.demo_steps = int(demo_steps)
    elif demo_steps:
        raise ValueError("demo_steps needs algo=sac: PPO learns on-policy and cannot use the expert's transitions.")
    else:
        ent = 0.0 if cfg.ent_coef.startswith("auto") else float(cfg.ent_coef)
        model = PPO(n_steps=cfg.n_steps, n_epochs=cfg.n_epochs, gae_lambda=cfg.gae_lambda,
                    clip_range=cfg.clip_range, ent_coef=ent, **common)
    return _silent_unless_logging(model, tensorboard_log, verbose)


def load_algo(cfg: AlgoConfig, path: str, env: VecEnv, *, device: str = "auto",
              tensorboard_log: str | None = None) -> BaseAlgorithm:
    """Load a learner saved by SB3 (``model.save``) and attach ``env``."""
    model = ALGOS[cfg.name].load(path, env=env, device=device, tensorboard_log=tensorboard_log)
    return _silent_unless_logging(model, tensorboard_log, model.verbose)
