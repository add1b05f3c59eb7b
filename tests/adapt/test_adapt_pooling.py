"""How the adapted reward fuses its views' ensemble members: log-odds pooling, the old mean, and old directories."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from robo_reward.adapt.cli import adapt_main
from robo_reward.adapt.model import LOGIT_CLAMP, AdaptedReward, HeadConfig
from robo_reward.adapt.reward_dir import load_reward_dir


def _constant_heads(logits: dict[str, list[tuple[float, float]]], pooling: str) -> AdaptedReward:
    """A model whose members output fixed (progress, success) logits whatever the frame."""
    members = len(next(iter(logits.values())))
    model = AdaptedReward(list(logits), embed_dim=4, num_refs=2, cfg=HeadConfig(members=members, pooling=pooling))
    with torch.no_grad():
        for view, per_member in logits.items():
            for mlp, (lp, ls) in zip(model.heads[view].members, per_member):
                mlp[-1].weight.zero_()
                mlp[-1].bias.copy_(torch.tensor([lp, ls]))
    return model


def _sig(x: float) -> float:
    return 1.0 / (1.0 + np.exp(-x))


def test_logit_pooling_is_the_sigmoid_of_the_mean_log_odds():
    logits = {"front": [(2.0, 1.0)], "wrist": [(-1.0, -3.0)]}
    emb = {v: np.zeros((5, 4), np.float32) for v in logits}
    out = _constant_heads(logits, "logit").score(emb)
    np.testing.assert_allclose(out.progress.numpy(), _sig(0.5), rtol=1e-6)
    np.testing.assert_allclose(out.success_prob.numpy(), _sig(-1.0), rtol=1e-6)
    # the uncertainty stays the spread of the members' probabilities
    np.testing.assert_allclose(out.uncertainty.numpy(), abs(_sig(2.0) - _sig(-1.0)) / 2, rtol=1e-5)

    old = _constant_heads(logits, "mean").score(emb)
    np.testing.assert_allclose(old.progress.numpy(), (_sig(2.0) + _sig(-1.0)) / 2, rtol=1e-6)
    # a subset of views pools only the given views
    one = _constant_heads(logits, "logit").score({"front": emb["front"]})
    np.testing.assert_allclose(one.progress.numpy(), _sig(2.0), rtol=1e-6)


def test_a_saturated_member_is_clamped():
    logits = {"front": [(50.0, 0.0), (-1.0, 0.0)]}
    out = _constant_heads(logits, "logit").score({"front": np.zeros((3, 4), np.float32)})
    np.testing.assert_allclose(out.progress.numpy(), _sig((LOGIT_CLAMP - 1.0) / 2), rtol=1e-5)


def test_unknown_pooling_is_refused():
    with pytest.raises(ValueError, match="pooling"):
        HeadConfig(pooling="max")


def test_new_directories_pool_log_odds_old_ones_keep_the_mean(tiny_encoder, videos, tmp_path):
    out = tmp_path / "r"
    assert adapt_main(["--demo", str(videos["two"]), "--task", "t", "--out", str(out)]) == 0
    cfg_path = out / "config.json"
    cfg = json.loads(cfg_path.read_text())
    assert cfg["head"]["pooling"] == "logit"
    assert load_reward_dir(out).model.cfg.pooling == "logit"
    del cfg["head"]["pooling"]  # as written before the field existed
    cfg_path.write_text(json.dumps(cfg))
    assert load_reward_dir(out).model.cfg.pooling == "mean"
