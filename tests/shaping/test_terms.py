"""Unit tests of the shaping term functions, the config and the per-env composer."""

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from robo_reward.shaping import ShapedReward, ShapingConfig, ShapingKind, terms


def test_pbrs_values_and_terminal_convention():
    phi = torch.tensor([0.2, 0.5, 0.9])
    phi_next = torch.tensor([0.4, 0.5, 1.0])
    r = terms.pbrs(phi, phi_next, 0.9, terminated=torch.tensor([False, False, True]))
    # terminated env: Phi(s_T) := 0 -> -Phi(s)
    assert torch.allclose(r, torch.tensor([0.9 * 0.4 - 0.2, 0.9 * 0.5 - 0.5, -0.9]))
    assert r.dtype == torch.float32


def test_terms_accept_numpy_and_scalars():
    r = terms.pbrs(np.array([0.1, 0.2]), np.array([0.3, 0.2]), 1.0, terminated=False)
    assert isinstance(r, torch.Tensor) and torch.allclose(r, torch.tensor([0.2, 0.0]))
    assert torch.allclose(terms.delta(np.array([0.1]), np.array([0.4])), torch.tensor([0.3]))
    assert torch.allclose(terms.naive(np.array([0.7])), torch.tensor([0.7]))


def test_sigmoid_is_bounded_and_centred():
    r = terms.sigmoid(torch.tensor([0.0, 0.5, 1.0]), k=10.0, ref=0.5)
    assert float(r[1]) == pytest.approx(0.5)
    assert 0.0 < float(r[0]) < 0.01 and 0.99 < float(r[2]) < 1.0


def test_model_success_modes():
    p, s = torch.tensor([0.96, 0.5, 0.2]), torch.tensor([0.1, 0.7, 0.2])
    assert terms.model_success(p, s, mode="progress", delta=0.05).tolist() == [1.0, 0.0, 0.0]
    assert terms.model_success(p, s, mode="prob", success_threshold=0.6).tolist() == [0.0, 1.0, 0.0]
    assert terms.model_success(p, s, mode="either", success_threshold=0.6).tolist() == [1.0, 1.0, 0.0]
    with pytest.raises(ValueError, match="'prob', 'progress' or 'either'"):
        terms.model_success(p, s, mode="bogus")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_terms_stay_on_device():
    phi = torch.rand(4, device="cuda")
    assert terms.pbrs(phi, phi, 0.99, torch.zeros(4, dtype=torch.bool, device="cuda")).device.type == "cuda"


def test_config_validation_and_omegaconf_roundtrip():
    with pytest.raises(ValueError, match="expected one of 'pbrs', 'naive'"):
        ShapingConfig(kind="pbrs2")
    with pytest.raises(ValueError, match="gamma must be in"):
        ShapingConfig(gamma=1.5)
    cfg = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(ShapingConfig), {"kind": "naive", "gamma": 0.9}))
    assert cfg.kind is ShapingKind.naive and cfg.gamma == 0.9
    assert ShapingConfig().resolve_gamma(0.97) == 0.97
    assert ShapingConfig(gamma=0.5).resolve_gamma(0.97) == 0.5


def test_composer_terms_sum_to_total_and_episode_sums():
    sh = ShapedReward(ShapingConfig(kind="pbrs", sparse="env", sparse_weight=2.0), learner_gamma=0.9, num_envs=2)
    sh.reset(None, torch.tensor([0.1, 0.3]))
    total, values = sh.compute(torch.tensor([0.5, 0.4]), terminated=[False, False], env_success=[False, False])
    assert torch.allclose(total, values["pbrs"] + values["sparse"])
    assert torch.allclose(total, torch.tensor([0.9 * 0.5 - 0.1, 0.9 * 0.4 - 0.3]))
    total2, _ = sh.compute(torch.tensor([1.0, 0.4]), terminated=[True, False], env_success=[True, False])
    assert torch.allclose(total2, torch.tensor([2.0 - 0.5, 0.9 * 0.4 - 0.4]))
    finished = sh.reset([0], torch.tensor([0.05]))
    assert finished["sparse"].tolist() == [2.0]
    assert float(finished["pbrs"][0]) == pytest.approx(0.9 * 0.5 - 0.1 - 0.5)
    # env 1 untouched by the reset of env 0
    assert float(sh.episode_sums["pbrs"][1]) == pytest.approx(0.9 * 0.4 - 0.3 + 0.9 * 0.4 - 0.4, abs=1e-6)
    assert sh.phi.tolist() == pytest.approx([0.05, 0.4])
    assert float(sh.episode_sums["pbrs"][0]) == 0.0


def test_composer_errors_name_the_fix():
    sh = ShapedReward(ShapingConfig(sparse="env"), 0.99, 2)
    with pytest.raises(ValueError, match="info\\['success'\\]"):
        sh.compute(torch.zeros(2), terminated=[False, False])
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        sh.compute(torch.zeros(3), terminated=[False] * 3, env_success=[False] * 3)
    with pytest.raises(ValueError, match=r"env_ids must be in \[0, 2\)"):
        sh.reset([5], 0.0)
