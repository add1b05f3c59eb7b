"""Replace an env's reward with the shaped learned reward (gymnasium Wrapper and SB3 VecEnvWrapper).

Both wrappers call a :class:`~robo_reward.types.BatchedProgressModel` (one batched call per step for all envs),
cache the potential Phi(s) per env, and shape with :class:`~robo_reward.shaping.ShapedReward`.

Timing of frames (the crux for a correct Phi(s_T)):

* single env (:class:`LearnedRewardWrapper`): no auto-reset, so frames are rendered right after ``step``.
* SB3 VecEnv (:class:`LearnedRewardVecEnv`): the VecEnv auto-resets inside ``step_wait``. Every sub-env must
  therefore be wrapped in :class:`~robo_reward.rl.env_wrappers.ViewsInInfo`, which renders inside ``step``
  and puts ``info["views"]`` -- the frames of s' (= s_T on the last step) -- before the reset. After
  ``step_wait`` the done envs already show the new episode's first state, so the wrapper renders exactly
  those (``env_method("render_views", indices=done)``) for ``model.reset(done, frames)``. With
  ``reward_every = k > 1`` the model is queried every k-th vec step and whenever an episode ends; in between
  Phi (and success_prob) are held. Envs without ``info["views"]`` on a query step were not reset, so the
  wrapper renders them itself.

Terminal handling follows :mod:`robo_reward.shaping.terms`: Phi(s_T) := 0 on ``terminated``; the real Phi(s_T)
on truncation (SB3 marks it ``info["TimeLimit.truncated"]``).

Per step, ``info`` gets ``env_reward`` (the env's own reward), ``progress`` (Phi(s')), ``reward_terms``
({term: value}); at episode end also ``episode_reward_terms`` ({term: episode sum}) and ``final_progress``.
"""

from __future__ import annotations

import logging
from typing import Any, Mapping, Sequence

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper

from robo_reward.rl.env_wrappers import call_render_views
from robo_reward.shaping import ShapedReward, ShapingConfig
from robo_reward.types import BatchedProgressModel, ProgressOutput

logger = logging.getLogger(__name__)


def stack_views(per_env: Sequence[Mapping[str, np.ndarray]], views: Sequence[str]) -> dict[str, np.ndarray]:
    """[{view: (H, W, 3)}] * N -> {view: (N, H, W, 3) uint8} for the model's ``views``."""
    out = {}
    for v in views:
        try:
            out[v] = np.stack([np.asarray(d[v]) for d in per_env])
        except KeyError:
            raise ValueError(f"the reward model needs view {v!r}, but the env rendered {sorted(per_env[0])}. "
                             "Set the env's views to include it (train.views).") from None
    return out


def _check_model(model: BatchedProgressModel, num_envs: int) -> None:
    if not isinstance(model, BatchedProgressModel):
        raise TypeError(f"reward model must implement robo_reward.types.BatchedProgressModel, got {type(model)}.")
    if model.num_envs != num_envs:
        raise ValueError(f"reward model streams {model.num_envs} envs but the env has {num_envs}; "
                         f"build it with .streamer({num_envs}).")


def _scalar_terms(values: Mapping[str, torch.Tensor], i: int) -> dict[str, float]:
    return {k: float(v[i]) for k, v in values.items()}


class LearnedRewardWrapper(gym.Wrapper):
    """Single-env wrapper: reward = shaped learned reward.

    Args:
        env: env with ``render_views()`` and (for sparse="env") ``info["success"]``.
        model: a BatchedProgressModel with ``num_envs == 1``.
        shaping: shaping configuration.
        gamma: the learner's discount (PBRS uses it unless ``shaping.gamma`` is set).
        reward_every: query the model every k steps (and always at the episode's end); hold Phi in between.
    """

    def __init__(self, env: gym.Env, model: BatchedProgressModel, shaping: ShapingConfig, gamma: float,
                 reward_every: int = 1):
        super().__init__(env)
        _check_model(model, 1)
        if reward_every < 1:
            raise ValueError(f"reward_every must be >= 1, got {reward_every}.")
        self.model = model
        self.reward_every = reward_every
        self.shaper = ShapedReward(shaping, gamma, 1)
        self._t = 0
        self._success_prob = torch.zeros(1)

    def _frames(self) -> dict[str, np.ndarray]:
        return stack_views([call_render_views(self.env)], self.model.views)

    def reset(self, **kwargs: Any) -> tuple[Any, dict]:
        obs, info = self.env.reset(**kwargs)
        out = self.model.reset([0], self._frames())
        self.shaper.reset([0], out.progress.detach().float().cpu())
        self._success_prob = out.success_prob.detach().float().cpu()
        self._t = 0
        return obs, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        obs, env_reward, terminated, truncated, info = self.env.step(action)
        self._t += 1
        if self._t % self.reward_every == 0 or terminated or truncated:
            out = self.model.step(self._frames())
            phi_next = out.progress.detach().float().cpu()
            self._success_prob = out.success_prob.detach().float().cpu()
        else:
            phi_next = self.shaper.phi.clone()
        env_success = [bool(info.get("success", False))] if "success" in info else None
        total, values = self.shaper.compute(phi_next, terminated=[terminated], success_prob=self._success_prob,
                                            env_success=env_success)
        info = dict(info)
        info["env_reward"] = float(env_reward)
        info["progress"] = float(phi_next[0])
        info["reward_terms"] = _scalar_terms(values, 0)
        if terminated or truncated:
            info["final_progress"] = float(phi_next[0])
            info["episode_reward_terms"] = {k: float(v[0]) for k, v in self.shaper.episode_sums.items()}
        return obs, float(total[0]), terminated, truncated, info


class LearnedRewardVecEnv(VecEnvWrapper):
    """SB3 VecEnvWrapper: reward = shaped learned reward, one batched reward-model call per vec step.

    Every sub-env must be wrapped in :class:`~robo_reward.rl.env_wrappers.ViewsInInfo` (see module docstring).

    Args:
        venv: the vectorized env (DummyVecEnv or SubprocVecEnv).
        model: a BatchedProgressModel with ``num_envs == venv.num_envs``.
        shaping: shaping configuration.
        gamma: the learner's discount.
        reward_every: query the model every k vec steps (and whenever an episode ends); hold Phi in between.
    """

    def __init__(self, venv: VecEnv, model: BatchedProgressModel, shaping: ShapingConfig, gamma: float,
                 reward_every: int = 1):
        super().__init__(venv)
        _check_model(model, venv.num_envs)
        if reward_every < 1:
            raise ValueError(f"reward_every must be >= 1, got {reward_every}.")
        self.model = model
        self.reward_every = reward_every
        self.shaper = ShapedReward(shaping, gamma, venv.num_envs)
        self._success_prob = torch.zeros(venv.num_envs)
        self._t = 0

    def _render(self, indices: Sequence[int]) -> list[dict[str, np.ndarray]]:
        return list(self.venv.env_method("render_views", indices=list(indices)))

    def _reset_model(self, ids: np.ndarray) -> ProgressOutput:
        out = self.model.reset(ids, stack_views(self._render(ids), self.model.views))
        return out

    def reset(self) -> Any:
        obs = self.venv.reset()
        ids = np.arange(self.num_envs)
        out = self._reset_model(ids)
        self.shaper.reset(ids, out.progress.detach().float().cpu())
        self._success_prob = out.success_prob.detach().float().cpu().clone()
        self._t = 0
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self.venv.step_async(actions)

    def step_wait(self) -> Any:
        obs, env_rewards, dones, infos = self.venv.step_wait()
        n = self.num_envs
        self._t += 1
        dones = np.asarray(dones, dtype=bool)
        truncated = np.array([bool(inf.get("TimeLimit.truncated", False)) for inf in infos])
        terminated = dones & ~truncated

        per_env_views: list[dict[str, np.ndarray] | None] = [inf.pop("views", None) for inf in infos]
        if self._t % self.reward_every == 0 or dones.any():
            missing = [i for i in range(n) if per_env_views[i] is None]
            bad = [i for i in missing if dones[i]]
            if bad:
                raise ValueError(f"envs {bad} ended without info['views']; wrap every sub-env in "
                                 "robo_reward.rl.env_wrappers.ViewsInInfo so terminal frames are rendered "
                                 "before the VecEnv auto-resets.")
            for i, views in zip(missing, self._render(missing) if missing else []):
                per_env_views[i] = views
            out = self.model.step(stack_views(per_env_views, self.model.views))  # type: ignore[arg-type]
            phi_next = out.progress.detach().float().cpu()
            self._success_prob = out.success_prob.detach().float().cpu().clone()
        else:
            phi_next = self.shaper.phi.clone()

        env_success = None
        if all("success" in inf for inf in infos):
            env_success = np.array([bool(inf["success"]) for inf in infos])
        total, values = self.shaper.compute(phi_next, terminated=terminated, success_prob=self._success_prob,
                                            env_success=env_success)
        for i, inf in enumerate(infos):
            inf["env_reward"] = float(env_rewards[i])
            inf["progress"] = float(phi_next[i])
            inf["reward_terms"] = _scalar_terms(values, i)

        done_ids = np.flatnonzero(dones)
        if done_ids.size:
            out0 = self._reset_model(done_ids)
            finished = self.shaper.reset(done_ids, out0.progress.detach().float().cpu())
            self._success_prob[done_ids] = out0.success_prob.detach().float().cpu()
            for j, i in enumerate(done_ids):
                infos[i]["final_progress"] = float(phi_next[i])
                infos[i]["episode_reward_terms"] = {k: float(v[j]) for k, v in finished.items()}
        return obs, total.numpy().astype(np.float32), dones, infos
