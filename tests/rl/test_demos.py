"""Demonstration steps (``demo_steps``): the scripted expert drives the first env steps and its transitions
land in SAC's replay buffer with the configured reward."""

import numpy as np
import pytest
from rl_fakes import LineReachEnv
from stable_baselines3.common.save_util import load_from_pkl
from test_train import make_cfg

from robo_reward.rl import AlgoConfig, TrainConfig, run

sim = pytest.importorskip("robo_reward.sim")


def test_demo_config_errors_say_what_to_do():
    with pytest.raises(ValueError, match="demo_steps > 0 needs algo=sac"):
        TrainConfig(demo_steps=10, algo=AlgoConfig(name="ppo"))
    with pytest.raises(ValueError, match="demo_steps must be in 0..total_steps"):
        TrainConfig(demo_steps=200, total_steps=100)


def test_demo_steps_need_a_scripted_expert(tmp_path):
    with pytest.raises(ValueError, match="no scripted expert"):
        run(make_cfg(tmp_path, "task=line", "reward=sparse", "demo_steps=10", "total_steps=20"),
            env_factory=lambda cfg: LineReachEnv())


def test_expert_actions_solve_push_with_noise():
    from robo_reward.rl.env_wrappers import ExpertActions

    env = ExpertActions(sim.make_env("push", render_quality="fast"), noise=0.1)
    successes = 0
    for seed in range(3):
        env.reset(seed=seed)
        for _ in range(env.unwrapped.max_episode_steps):
            _, _, terminated, truncated, info = env.step(env.expert_action())
            if terminated or truncated:
                break
        successes += info["success"]
    env.close()
    assert successes == 3


@pytest.mark.slow
def test_demo_transitions_are_the_experts_and_carry_the_sparse_reward(tmp_path):
    """The first demo_steps buffer entries are exactly the actions an independent ExpertActions replay of the
    same seed takes, with its rewards (sparse: 1 on the successful step); after them the learner acts."""
    from robo_reward.rl.env_wrappers import ExpertActions

    demo, total = 40, 60
    res = run(make_cfg(tmp_path, "task=reach", "reward=sparse", f"demo_steps={demo}", f"total_steps={total}",
                       "algo.learning_starts=1000", "normalize=false", "eval_every=0", "final_eval_episodes=0",
                       "checkpoint_every=0", "video=false", "tensorboard=false", "seed=3"))
    assert res["num_timesteps"] == total and res["demo_steps"] == demo
    buf = load_from_pkl(next((tmp_path / "checkpoints").glob("*replay_buffer*.pkl")))
    actions, rewards = buf.actions[:total, 0], buf.rewards[:total, 0]

    env = ExpertActions(sim.make_env("reach", render_quality="fast"), noise=0.1)
    env.reset(seed=3)
    expected_a, expected_r = [], []
    for _ in range(demo):
        a = env.expert_action()
        _, _, terminated, truncated, info = env.step(a)
        expected_a.append(a)
        expected_r.append(float(info["success"]))
        if terminated or truncated:
            env.reset()
    env.close()
    np.testing.assert_allclose(actions[:demo], np.array(expected_a), atol=1e-6)
    np.testing.assert_array_equal(rewards[:demo], np.array(expected_r))
    assert sum(expected_r) >= 2  # reach's expert finishes in ~14 steps: the demos hold successes
    # after the demos: SAC's warm-up (uniform random), not the expert
    assert np.abs(actions[demo:] - actions[demo - 1]).max() > 0.5
