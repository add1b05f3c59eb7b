"""The Isaac Lab reward term on a namedtuple fake env (Isaac Lab's own test style), CPU tensors."""

import inspect
from collections import namedtuple
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from robo_reward.integrations.isaaclab import LearnedProgressReward
from robo_reward.rl.env_wrappers import encode_progress
from robo_reward.rl.oracle import OracleProgressModel
from robo_reward.shaping import ShapingConfig

Env = namedtuple("ManagerBasedRLEnv", ["num_envs", "device", "scene", "termination_manager"])
GAMMA = 0.9


def camera(phis, alpha=True):
    img = np.stack([encode_progress(p) for p in phis])  # (N, 1, 1, 3)
    if alpha:
        img = np.concatenate([img, np.full(img.shape[:-1] + (1,), 255, np.uint8)], -1)
    return SimpleNamespace(data=SimpleNamespace(output={"rgb": torch.as_tensor(img)}))


def make(n=3, shaping=None):
    tm = SimpleNamespace(terminated=torch.zeros(n, dtype=torch.bool), time_outs=torch.zeros(n, dtype=torch.bool))
    env = Env(n, "cpu", {"front_cam": camera([0.0] * n)}, tm)
    models = []

    def factory(num_envs, device):
        models.append(OracleProgressModel(num_envs, view="front", device=device))
        return models[-1]

    params = {"sensors": {"front": "front_cam"}, "model_factory": factory, "gamma": GAMMA,
              "shaping": shaping or ShapingConfig(kind="pbrs", sparse="model", model_success="prob")}
    cfg = SimpleNamespace(params=params)
    return LearnedProgressReward(cfg, env), env, models, params


def test_signature_matches_isaaclab_param_check():
    term, _, _, params = make()
    # RewardManager's resolve_term_cfg: every params key must be an argument of __call__ after `env`
    args = inspect.signature(term).parameters
    assert list(args)[0] == "env"
    assert set(params) <= set(list(args)[1:])
    assert all(args[a].default is not inspect.Parameter.empty for a in list(args)[1:])


def test_shaped_reward_terminal_convention_and_per_env_reset():
    term, env, models, params = make()
    model = models[0]
    env.scene["front_cam"] = camera([0.1, 0.2, 0.3])
    r = term(env, **params)
    assert model.reset_calls == [[0, 1, 2]]
    assert torch.allclose(r, (GAMMA - 1) * torch.tensor([0.1, 0.2, 0.3]), atol=1e-6)

    env.scene["front_cam"] = camera([0.5, 0.4, 0.3])
    env.termination_manager.terminated[:] = torch.tensor([False, True, False])
    r = term(env, **params)
    assert torch.allclose(r, torch.tensor([GAMMA * 0.5 - 0.1, -0.2, GAMMA * 0.3 - 0.3]), atol=1e-6)
    assert r.shape == (3,) and r.dtype == torch.float32

    sums_before = term.episode_sums["pbrs"].clone()
    term.reset([1])
    env.termination_manager.terminated[:] = False
    env.scene["front_cam"] = camera([0.6, 0.05, 1.0])
    r = term(env, **params)
    assert model.reset_calls[-1] == [1]  # only env 1 restarted its model state
    assert float(r[0]) == pytest.approx(GAMMA * 0.6 - 0.5, abs=1e-6)
    assert float(r[1]) == pytest.approx((GAMMA - 1) * 0.05, abs=1e-6)
    w = ShapingConfig().sparse_weight  # the default weight of r_gold (10)
    assert float(r[2]) == pytest.approx(GAMMA * 1.0 - 0.3 + w * 1.0, abs=1e-6)  # success_prob 1 -> r_gold 1
    assert float(term.episode_sums["pbrs"][0]) == pytest.approx(float(sums_before[0]) + GAMMA * 0.6 - 0.5, abs=1e-6)
    assert float(term.episode_sums["pbrs"][1]) == pytest.approx((GAMMA - 1) * 0.05, abs=1e-6)


def test_errors_name_the_fix():
    term, env, _, params = make()
    env.scene.pop("front_cam")
    with pytest.raises(ValueError, match="no sensor 'front_cam'"):
        term(env, **params)
    with pytest.raises(ValueError, match="sparse='env' is not available"):
        make(shaping=ShapingConfig(sparse="env"))
    _, env, _, params = make()
    with pytest.raises(ValueError, match="needs views \\['front'\\]"):
        LearnedProgressReward(SimpleNamespace(params={**params, "sensors": {"side": "front_cam"}}), env)
