"""Policies for the policy node: ``act(obs) -> joint target delta`` (pure Python, no ROS).

``obs`` is a dict: ``"q"`` (J,) and ``"dq"`` (J,) of the commanded joints, ``"images"`` view -> (H, W, 3) uint8,
``"progress"`` float (NaN when no reward node runs), ``"t"`` seconds since the policy started.

* scripted ``hold`` -- zeros; ``home`` -- move towards a home pose; ``sine`` -- a slow sinusoid on every joint
  (for bring-up checks); ``constant`` -- the same delta every tick (for limit tests).
* :class:`SB3Policy` -- a stable-baselines3 model file (SAC/TD3/PPO/...) on the state vector
  ``[q, dq, progress]`` whose action in [-1, 1] is scaled by ``action_scale`` (rad per tick).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, Mapping, Protocol, Sequence

import numpy as np

logger = logging.getLogger(__name__)

SCRIPTED = ("hold", "home", "sine", "constant")


class Policy(Protocol):
    """Anything with ``act(obs) -> (J,) joint target delta``."""

    def act(self, obs: Mapping[str, Any]) -> np.ndarray: ...


class ScriptedPolicy:
    """Hand-written policies (see module docstring). ``home`` (J,) and ``amplitude`` in rad."""

    def __init__(self, kind: str, num_joints: int, home: Sequence[float] | None = None, amplitude: float = 0.02,
                 period_s: float = 4.0, gain: float = 0.2) -> None:
        if kind not in SCRIPTED:
            raise ValueError(f"scripted policy must be one of {SCRIPTED}, got {kind!r}")
        if kind == "home" and (home is None or len(home) != num_joints):
            raise ValueError(f"'home' policy needs a home pose with {num_joints} values, got {home}")
        self.kind, self.n = kind, int(num_joints)
        self.home = np.asarray(home, dtype=np.float64) if home is not None else None
        self.amplitude, self.period_s, self.gain = float(amplitude), float(period_s), float(gain)

    def act(self, obs: Mapping[str, Any]) -> np.ndarray:
        if self.kind == "hold":
            return np.zeros(self.n)
        if self.kind == "constant":
            return np.full(self.n, self.amplitude)
        if self.kind == "home":
            assert self.home is not None
            return self.gain * (self.home - np.asarray(obs["q"], dtype=np.float64))
        phase = 2.0 * math.pi * float(obs.get("t", 0.0)) / self.period_s
        return np.full(self.n, self.amplitude * math.cos(phase))


def state_vector(obs: Mapping[str, Any]) -> np.ndarray:
    """``[q, dq, progress]`` (2J + 1,) float32; NaN progress -> 0."""
    prog = float(obs.get("progress", 0.0))
    return np.concatenate([np.asarray(obs["q"]), np.asarray(obs["dq"]),
                           [0.0 if not math.isfinite(prog) else prog]]).astype(np.float32)


class SB3Policy:
    """A saved stable-baselines3 model (``<algo>:<path.zip>``, algo in sac/td3/ddpg/ppo/a2c)."""

    ALGOS = ("sac", "td3", "ddpg", "ppo", "a2c")

    def __init__(self, spec: str, num_joints: int, action_scale: float = 0.05, device: str = "auto") -> None:
        algo, _, path = spec.partition(":")
        if algo.lower() not in self.ALGOS or not path:
            raise ValueError(f"SB3 policy spec must be '<algo>:<model.zip>' with algo in {self.ALGOS}, got {spec!r}")
        if not Path(path).is_file():
            raise ValueError(f"SB3 model file {path!r} does not exist")
        import stable_baselines3 as sb3

        cls = getattr(sb3, algo.upper())
        self.model = cls.load(path, device=device)
        shape = self.model.observation_space.shape
        if shape != (2 * num_joints + 1,):
            raise ValueError(f"SB3 model {path} expects observations of shape {shape}, the policy node gives "
                             f"[q, dq, progress] = ({2 * num_joints + 1},); retrain on that state vector")
        self.n, self.action_scale = int(num_joints), float(action_scale)

    def act(self, obs: Mapping[str, Any]) -> np.ndarray:
        action, _ = self.model.predict(state_vector(obs), deterministic=True)
        action = np.asarray(action, dtype=np.float64).reshape(-1)
        if action.shape != (self.n,):
            raise ValueError(f"SB3 policy returned action shape {action.shape}, expected ({self.n},)")
        return self.action_scale * np.clip(action, -1.0, 1.0)


def make_policy(spec: str, num_joints: int, home: Sequence[float] | None = None, amplitude: float = 0.02,
                action_scale: float = 0.05) -> Policy:
    """``scripted:<kind>`` or ``<algo>:<model.zip>`` (see :class:`SB3Policy`)."""
    kind, _, rest = spec.partition(":")
    if kind == "scripted":
        return ScriptedPolicy(rest, num_joints, home=home, amplitude=amplitude)
    return SB3Policy(spec, num_joints, action_scale=action_scale)
