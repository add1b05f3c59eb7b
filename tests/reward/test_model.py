import itertools

import pytest
import torch

from robo_reward.reward.model import HopModel, RewardModelConfig


def _inputs(b=4, v=3, d=16, td=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
    return dict(before=r(b, v, d), after=r(b, v, d), start=r(b, v, d), goal=r(b, v, d),
                goal_mask=torch.ones(b, dtype=torch.bool), view_mask=torch.ones(b, v, dtype=torch.bool),
                text=r(b, td), text_mask=torch.ones(b, dtype=torch.bool))


def test_any_view_subset_runs_and_masked_views_are_ignored():
    torch.manual_seed(0)
    m = HopModel(RewardModelConfig(hidden=32, heads=4, layers=1, num_bins=11, dropout=0.0), ("f", "s", "w"), 16, 8).eval()
    x = _inputs()
    for k in (1, 2, 3):
        for subset in itertools.combinations(range(3), k):
            vm = torch.zeros(4, 3, dtype=torch.bool)
            vm[:, list(subset)] = True
            out = m(**{**x, "view_mask": vm})
            assert out["hop"].shape == (4,) and out["logits"].shape == (4, 11)
            assert bool(((out["hop"] >= -1) & (out["hop"] <= 1)).all())
            # garbage in the masked views must not change the answer
            y = {k2: v.clone() for k2, v in x.items()}
            for key in ("before", "after", "start", "goal"):
                y[key][:, [i for i in range(3) if i not in subset]] = 1e3
            torch.testing.assert_close(m(**{**y, "view_mask": vm})["hop"], out["hop"])


def test_no_goal_token_differs_from_goal_and_regression_head():
    torch.manual_seed(0)
    m = HopModel(RewardModelConfig(hidden=32, heads=4, layers=1, dropout=0.0, head="regression"), ("f",), 16, 8).eval()
    x = _inputs(v=1)
    a = m(**x)["hop"]
    b = m(**{**x, "goal_mask": torch.zeros(4, dtype=torch.bool)})["hop"]
    assert not torch.allclose(a, b)
    assert m(**x)["logits"].shape == (4, 1)


def test_config_validation_messages():
    with pytest.raises(ValueError, match="divisible by heads"):
        RewardModelConfig(hidden=30, heads=4)
    with pytest.raises(ValueError, match="odd number"):
        RewardModelConfig(num_bins=20)
    with pytest.raises(ValueError, match="head must be"):
        RewardModelConfig(head="ordinal")


def test_feature_noise_only_in_training():
    torch.manual_seed(0)
    cfg = RewardModelConfig(hidden=32, heads=4, layers=1, num_bins=11, dropout=0.0, feature_noise=0.5)
    m = HopModel(cfg, ("f", "s", "w"), 16, 8)
    x = _inputs()
    m.train()
    assert not torch.allclose(m(**x)["hop"], m(**x)["hop"])  # noisy features in training
    m.eval()
    torch.testing.assert_close(m(**x)["hop"], m(**x)["hop"])  # deterministic at inference
    with pytest.raises(ValueError, match="feature_noise"):
        RewardModelConfig(feature_noise=-0.1)
