"""PyBullet multi-view tabletop manipulation suite (Franka Panda): envs, tasks, scripted policies, recording.

Import the submodules directly (``robo_reward.sim.env.make_env``); the names below load lazily so that
importing this package does no work.
"""

from __future__ import annotations

from typing import Any

_LAZY = {
    "make_env": "robo_reward.sim.env", "TabletopEnv": "robo_reward.sim.env",
    "make_policy": "robo_reward.sim.policies", "MODES": "robo_reward.sim.policies",
    "RandomizationConfig": "robo_reward.sim.randomization",
    "record_episode": "robo_reward.sim.record", "RecordConfig": "robo_reward.sim.record",
    "run": "robo_reward.sim.record", "outcome_of": "robo_reward.sim.record",
    "contact_sheet": "robo_reward.sim.visualize", "TASKS": "robo_reward.sim.tasks",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'robo_reward.sim' has no attribute {name!r}")


__all__ = sorted(_LAZY)
