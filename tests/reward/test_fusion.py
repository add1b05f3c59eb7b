import math

import pytest
import torch

from robo_reward.reward import fusion


def t(*x):
    return torch.tensor(x, dtype=torch.float32)


def test_incremental_update_hand_computed():
    out = fusion.incremental_update(t(0.2, 0.8, 0.5), t(0.5, -0.5, 0.0))
    torch.testing.assert_close(out, t(0.6, 0.4, 0.5))


def test_forward_backward():
    torch.testing.assert_close(fusion.forward_progress(t(0.3, -0.2)), t(0.3, 0.0))
    torch.testing.assert_close(fusion.backward_progress(t(-0.3, 0.1)), t(0.7, 1.0))


def test_fused_update_hand_computed():
    # agreeing estimates: w = 1 -> phi = 0.4 + 0.5 * (0.6 - 0.4 + 0.1) = 0.55
    out = fusion.fused_update(t(0.4), t(0.6), t(0.6), t(0.1), alpha=2.0)
    assert out.item() == pytest.approx(0.55)
    # disagreeing: P_F = 0.2, P_B = 0.6 -> bar 0.4, D = 0.4 / (0.4 + 1e-3), w = exp(-2 D^2)
    d = 0.4 / 0.401
    w = math.exp(-2 * d * d)
    out = fusion.fused_update(t(0.3), t(0.2), t(0.6), t(0.05), alpha=2.0)
    assert out.item() == pytest.approx(0.3 + w / 2 * (0.4 - 0.3 + 0.05), abs=1e-6)
    # alpha = 0 disables the guard
    assert fusion.fused_update(t(0.3), t(0.2), t(0.6), t(0.0), 0.0).item() == pytest.approx(0.35)


def test_spread_and_init():
    assert fusion.estimate_spread(t(0.5), t(0.5), t(0.5)).item() == 0.0
    assert fusion.estimate_spread(t(0.0), t(0.5), t(1.0)).item() == pytest.approx(math.sqrt(1 / 6))
    assert fusion.initial_progress(t(0.2), t(0.4)).item() == pytest.approx(0.3)
