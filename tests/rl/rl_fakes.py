"""Small, fast stand-ins for the sim suite: a 1-D reach env and a scripted-progress env."""

from __future__ import annotations

import gymnasium as gym
import numpy as np


class _Task:
    """Mimics robo_reward.sim's Task query interface (what the oracle reads)."""

    stage_names = ("approach", "done")

    def __init__(self, env):
        self.env = env

    def progress(self) -> float:
        return self.env.true_progress()

    def success(self) -> bool:
        return self.env.true_progress() >= 1.0

    def stage_index(self) -> int:
        return int(self.success())


class LineReachEnv(gym.Env):
    """x in [0, 1]; action a in [-1, 1] moves x by 0.1 a; success (terminated) at x >= 0.9.

    Expert reward: -(1 - x). Progress: x / 0.9 clipped. render_views(): {"front": (8, 8, 3) uint8 of x}.
    """

    metadata = {"render_modes": []}

    def __init__(self, terminate_on_success: bool = True):
        self.observation_space = gym.spaces.Box(-1.0, 2.0, (2,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.terminate_on_success = terminate_on_success
        self.task = _Task(self)
        self.x = 0.0
        self.renders = 0

    def true_progress(self) -> float:
        return float(min(self.x / 0.9, 1.0))

    def _obs(self):
        return np.array([self.x, 0.9 - self.x], np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.x = float(self.np_random.uniform(0.0, 0.3))
        return self._obs(), {}

    def step(self, action):
        self.x = float(np.clip(self.x + 0.1 * float(np.asarray(action).reshape(-1)[0]), 0.0, 1.0))
        success = self.x >= 0.9
        return self._obs(), -(1.0 - self.x), bool(success and self.terminate_on_success), False, {"success": success}

    def render_views(self):
        self.renders += 1
        return {"front": np.full((8, 8, 3), int(round(self.x * 255)), np.uint8)}


class ScriptedEnv(gym.Env):
    """Walks through a fixed progress sequence phi[0..T]; ends after T steps (terminated or truncated).

    Env reward: 1.0 on the last step if ``success`` else 0.0 (and info["success"] accordingly).
    """

    def __init__(self, phis: list[float], end: str = "terminated", success: bool = False):
        assert end in ("terminated", "truncated")
        self.phis, self.end, self.success = list(phis), end, success
        self.observation_space = gym.spaces.Box(0.0, 1e6, (1,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.task = _Task(self)
        self.t = 0
        self.episodes = 0

    @property
    def T(self) -> int:
        return len(self.phis) - 1

    def true_progress(self) -> float:
        return self.phis[self.t]

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        self.episodes += 1
        return np.array([self.t], np.float32), {}

    def step(self, action):
        self.t += 1
        last = self.t == self.T
        succ = bool(last and self.success)
        return (np.array([self.t], np.float32), float(succ), last and self.end == "terminated",
                last and self.end == "truncated", {"success": succ})

    def render_views(self):
        return {"front": np.zeros((2, 2, 3), np.uint8)}
