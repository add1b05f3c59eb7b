"""End-to-end learning check on the fast 1-D reach env (slow: ~15 s)."""

import pytest
from rl_fakes import LineReachEnv
from test_train import make_cfg

from robo_reward.rl import run


def fake_env(cfg):
    return LineReachEnv()


@pytest.mark.slow
def test_pbrs_oracle_reward_learns_line_reach(tmp_path):
    """End to end: oracle progress + PBRS through the VecEnv wrapper teaches SAC to reach the goal."""
    cfg = make_cfg(tmp_path, "task=line", "reward=learned", "reward_model_dir=oracle", "shaping=pbrs",
                   "shaping.sparse=model", "algo.learning_starts=200", "algo.batch_size=64", "algo.net_arch=[64,64]",
                   "algo.ent_coef=0.001", "max_episode_steps=40", "total_steps=1500", "eval_every=0",
                   "final_eval_episodes=20", "checkpoint_every=0", "tensorboard=false", "video=false")
    res = run(cfg, env_factory=fake_env)
    assert res["final_success_rate"] >= 0.9
    assert res["final_mean_length"] < 20  # goes straight for it (optimal: about 7 steps)
