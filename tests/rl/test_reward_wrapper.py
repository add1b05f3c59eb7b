"""The learned-reward wrappers: discounted shaped return identity, terminal convention, per-env resets."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rl_fakes import LineReachEnv, ScriptedEnv
from stable_baselines3.common.vec_env import DummyVecEnv

from robo_reward.rl.env_wrappers import OracleViews, ViewsInInfo, decode_progress, encode_progress
from robo_reward.rl.oracle import OracleProgressModel, task_progress
from robo_reward.rl.reward_wrapper import LearnedRewardVecEnv, LearnedRewardWrapper
from robo_reward.shaping import ShapingConfig

PBRS_ENV = ShapingConfig(kind="pbrs", sparse="env")


def expected_return(phis, end, success, gamma):
    """Unshaped discounted return (r_gold weighted by sparse_weight) + gamma^T Phi(s_T) - Phi(s_0), Phi(s_T) := 0
    when terminated."""
    T = len(phis) - 1
    unshaped = gamma ** (T - 1) * PBRS_ENV.sparse_weight * float(success)
    phi_T = 0.0 if end == "terminated" else phis[-1]
    return unshaped + gamma**T * phi_T - phis[0]


def test_progress_codec_roundtrip():
    p = np.array([0.0, 1e-7, 0.123456, 0.5, 1.0])
    img = np.stack([encode_progress(v) for v in p])
    assert np.abs(decode_progress(img) - p).max() < 1e-7


@settings(max_examples=40, deadline=None)
@given(phis=st.lists(st.floats(0.0, 1.0), min_size=2, max_size=12), end=st.sampled_from(["terminated", "truncated"]),
       success=st.booleans(), gamma=st.floats(0.5, 1.0))
def test_single_env_shaped_return_identity(phis, end, success, gamma):
    env = LearnedRewardWrapper(OracleViews(ScriptedEnv(phis, end, success), task_progress), OracleProgressModel(1),
                               PBRS_ENV, gamma)
    env.reset()
    g, t, done = 0.0, 0, False
    while not done:
        _, r, term, trunc, info = env.step(np.zeros(1))
        assert r == pytest.approx(sum(info["reward_terms"].values()), abs=1e-6)
        g += gamma**t * r
        t += 1
        done = term or trunc
    assert g == pytest.approx(expected_return(phis, end, success, gamma), abs=1e-5)


def make_vec(specs, every_step=True):
    return DummyVecEnv([
        (lambda s=s: ViewsInInfo(OracleViews(ScriptedEnv(*s), task_progress), every_step=every_step)) for s in specs
    ])


SPECS = [([0.1, 0.5, 1.0], "terminated", True),  # T=2
         ([0.3, 0.2, 0.6, 0.9, 0.7], "truncated", False),  # T=4
         ([0.0, 0.4, 0.8, 0.4], "terminated", False)]  # T=3


@pytest.mark.parametrize("reward_every", [1, 3])
def test_vec_env_shaped_return_identity_and_per_env_reset(reward_every):
    gamma = 0.9
    model = OracleProgressModel(3)
    venv = LearnedRewardVecEnv(make_vec(SPECS, every_step=reward_every == 1), model, PBRS_ENV, gamma,
                               reward_every=reward_every)
    venv.reset()
    assert model.reset_calls == [[0, 1, 2]]
    t = np.zeros(3, int)
    g = np.zeros(3)
    finished = {0: [], 1: [], 2: []}
    for step in range(1, 13):
        _, rews, dones, infos = venv.step(np.zeros((3, 1), np.float32))
        g += gamma**t * rews
        t += 1
        for i in np.flatnonzero(dones):
            finished[i].append(g[i])
            g[i], t[i] = 0.0, 0
            assert set(infos[i]["episode_reward_terms"]) == {"pbrs", "sparse"}
        if dones.any():
            assert model.reset_calls[-1] == list(np.flatnonzero(dones))  # only the done envs are reset
    for i, spec in enumerate(SPECS):
        assert len(finished[i]) == 12 // (len(spec[0]) - 1)
        for ret in finished[i]:
            assert ret == pytest.approx(expected_return(*spec, gamma), abs=1e-5)
    if reward_every == 3:
        assert model.step_calls < 12  # Phi held between queries


def test_vec_wrapper_needs_views_in_info():
    venv = DummyVecEnv([lambda: OracleViews(ScriptedEnv([0.0, 0.5]), task_progress)])
    venv = LearnedRewardVecEnv(venv, OracleProgressModel(1), PBRS_ENV, 0.99)
    venv.reset()
    with pytest.raises(ValueError, match="ViewsInInfo"):
        venv.step(np.zeros((1, 1), np.float32))


def test_model_env_count_mismatch_is_reported():
    with pytest.raises(ValueError, match=r"streamer\(2\)"):
        LearnedRewardVecEnv(make_vec(SPECS[:2]), OracleProgressModel(3), PBRS_ENV, 0.99)


def test_reward_every_renders_only_when_needed():
    env = LineReachEnv()
    venv = DummyVecEnv([lambda: ViewsInInfo(OracleViews(env, task_progress), every_step=False)])
    model = OracleProgressModel(1)
    venv = LearnedRewardVecEnv(venv, model, ShapingConfig(kind="naive", sparse="none"), 0.99, reward_every=4)
    venv.reset()
    phis = []
    for _ in range(8):
        _, r, _, infos = venv.step(np.zeros((1, 1), np.float32) + 0.5)
        phis.append(infos[0]["progress"])
        assert r[0] == pytest.approx(phis[-1], abs=1e-6)  # naive: r = Phi(s')
    assert model.step_calls == 2
    assert phis[0] == phis[1] == phis[2] and phis[3] > phis[2]  # held, then refreshed at step 4
