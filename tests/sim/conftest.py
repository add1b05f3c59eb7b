"""Shared fixtures for the sim tests: envs are cached per module to keep the suite fast."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
pytest.importorskip("pybullet")


@pytest.fixture(scope="module")
def env_factory():
    from robo_reward.sim.env import make_env

    made = []

    def _make(task: str, **kwargs):
        env = make_env(task, **kwargs)
        made.append(env)
        return env

    yield _make
    for env in made:
        env.close()
