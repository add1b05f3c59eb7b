"""Small gymnasium wrappers that prepare an env for the learned-reward VecEnv wrapper and SB3 evaluation.

Why views go into ``info``: SB3's VecEnvs reset an env inside ``step_wait`` as soon as it is done, so by the
time a VecEnvWrapper sees the transition, the env already shows the *next* episode's first state and
rendering it would give the wrong Phi(s_T). :class:`ViewsInInfo` therefore renders inside ``step`` -- before
the VecEnv's auto-reset -- and stores ``info["views"]`` (always, or only on the last step of an episode when
the reward model is queried every k steps; the VecEnv wrapper renders the other, not-reset envs itself).
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Mapping

import gymnasium as gym
import numpy as np

logger = logging.getLogger(__name__)

Views = dict[str, np.ndarray]  # view -> (H, W, 3) uint8


def call_render_views(env: gym.Env) -> Views:
    """``render_views()`` of the outermost wrapper that defines it (else the base env), checked."""
    try:
        fn = env.get_wrapper_attr("render_views")
    except AttributeError as e:
        raise ValueError(
            f"{type(env.unwrapped).__name__} has no render_views(); the learned reward needs camera frames. "
            "Use robo_reward.sim.make_env(...) or add a render_views() -> dict[view, (H, W, 3) uint8] method."
        ) from e
    views = fn()
    if not isinstance(views, Mapping) or not views:
        raise ValueError(f"render_views() must return a non-empty dict view -> (H, W, 3) uint8, got {type(views)}.")
    return dict(views)


class ViewsInInfo(gym.Wrapper):
    """Adds ``info["views"]`` (view -> (H, W, 3) uint8) at step time, before any VecEnv auto-reset.

    Args:
        env: an env with ``render_views()`` (possibly provided by an inner wrapper such as OracleViews).
        every_step: render at every step (True) or only when the episode ends (False; for ``reward_every > 1``).
    """

    def __init__(self, env: gym.Env, every_step: bool = True):
        super().__init__(env)
        self.every_step = every_step

    def render_views(self) -> Views:
        return call_render_views(self.env)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        if self.every_step or terminated or truncated:
            info = dict(info)
            info["views"] = self.render_views()
        return obs, reward, terminated, truncated, info


class SuccessInfo(gym.Wrapper):
    """Sets ``info["is_success"]`` (read by SB3's EvalCallback) on every step: True once ``info["success"]``
    was seen in the episode (latched, so the env may or may not terminate on success)."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self._succeeded = False

    def reset(self, **kwargs: Any) -> tuple[Any, dict]:
        self._succeeded = False
        return self.env.reset(**kwargs)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        if "success" not in info:
            raise ValueError(f"{type(self.env.unwrapped).__name__}.step() must put info['success'] (bool); "
                             f"got keys {sorted(info)}.")
        self._succeeded = self._succeeded or bool(info["success"])
        info = dict(info)
        info["is_success"] = self._succeeded
        return obs, reward, terminated, truncated, info


class ExpertActions(gym.Wrapper):
    """Offers the task's scripted expert action for the current state through :meth:`expert_action`.

    Used for demonstration steps at the start of training (``TrainConfig.demo_steps``): the learner asks every
    sub-env for its expert action instead of sampling its own, so the demo transitions pass through the same
    reward wrappers, VecNormalize statistics and replay buffer as the learner's own steps. The expert re-plans
    at every reset; Gaussian noise (std ``noise`` on the xyz components, in action units) spreads the demos over
    states around the expert's path, and a seeded reset re-seeds it (sub-env i of a seeded VecEnv gets seed + i).

    Args:
        env: a sim env (``unwrapped.task.expert_plan()``, ``robot``, ``max_step``), possibly wrapped.
        noise: action-noise std.
    """

    def __init__(self, env: gym.Env, noise: float = 0.1):
        super().__init__(env)
        if getattr(env.unwrapped, "task", None) is None or not hasattr(env.unwrapped.task, "expert_plan"):
            raise ValueError(f"{type(env.unwrapped).__name__} has no scripted expert (task.expert_plan()); "
                             "demo_steps > 0 needs a robo_reward.sim env. Set demo_steps=0.")
        from robo_reward.sim.policies import WaypointPolicy

        self.policy = WaypointPolicy(env.unwrapped)
        self.noise = float(noise)
        self.rng = np.random.default_rng(0)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]:
        out = self.env.reset(seed=seed, options=options)
        if seed is not None:
            self.rng = np.random.default_rng([int(seed), 0x5EED])
        self.policy.reset()
        return out

    def expert_action(self) -> np.ndarray:
        """(4,) float32 in [-1, 1]: the expert's next action (advances its plan: call once per step)."""
        action = self.policy.act(None)
        action[:3] += self.rng.normal(0.0, self.noise, 3)
        return np.clip(action, -1.0, 1.0).astype(np.float32)


class SparseSuccessReward(gym.Wrapper):
    """Replaces the env reward with the sparse task reward 1.0 * info["success"]; the old one is info["env_reward"]."""

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        info = dict(info)
        info["env_reward"] = float(reward)
        return obs, float(bool(info.get("success", False))), terminated, truncated, info


class ExpertDenseReward(gym.Wrapper):
    """The env's dense expert reward shifted to be <= 0: ``r - task.expert_reward_max``.

    Why: the sim envs end an episode on success. A per-step reward that is positive everywhere then pays the
    agent to *avoid* finishing (hovering next to the goal collects more than the one success bonus), which is
    exactly the semantic trap the learned reward is compared against. Subtracting the reward's upper bound keeps
    its shape and ordering but makes every step before success a cost, so ending the episode by succeeding is
    what the optimal policy wants. Envs without ``unwrapped.task.expert_reward_max`` are left unchanged.
    """

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.offset = float(getattr(getattr(env.unwrapped, "task", None), "expert_reward_max", 0.0))

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, float(reward) - self.offset, terminated, truncated, info


class OracleViews(gym.Wrapper):
    """Exposes the env's *true* progress as a tiny fake camera view, for :class:`OracleProgressModel`.

    The progress p in [0, 1] is written into a (1, 1, 3) uint8 image (24-bit fixed point), so it travels
    through exactly the same frame plumbing (render at step time, terminal frames in info, per-env reset) as
    real camera frames -- a wrong frame would give a wrong progress.

    Args:
        env: the env.
        progress_fn: env -> true progress in [0, 1] of its current state.
        view: name of the fake view.
    """

    def __init__(self, env: gym.Env, progress_fn: Callable[[gym.Env], float], view: str = "oracle"):
        super().__init__(env)
        self.progress_fn = progress_fn
        self.view = view

    def render_views(self) -> Views:
        return {self.view: encode_progress(self.progress_fn(self.env))}


_SCALE = float(2**24 - 1)


def encode_progress(p: float) -> np.ndarray:
    """Progress in [0, 1] -> (1, 1, 3) uint8 image (big-endian 24-bit fixed point)."""
    v = int(round(min(max(float(p), 0.0), 1.0) * _SCALE))
    return np.array([(v >> 16) & 255, (v >> 8) & 255, v & 255], dtype=np.uint8).reshape(1, 1, 3)


def decode_progress(img: np.ndarray) -> np.ndarray:
    """(N, 1, 1, 3) uint8 images from :func:`encode_progress` -> (N,) float64 progress."""
    a = np.asarray(img, dtype=np.int64).reshape(-1, 3)
    return ((a[:, 0] << 16) | (a[:, 1] << 8) | a[:, 2]) / _SCALE
