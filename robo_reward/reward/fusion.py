"""Turning predicted hops into progress: incremental, forward, backward estimates and their guarded fusion.

All functions are batched over environments (leading dimension N) and work on torch tensors so the streaming
model can run them on the model's device. Shapes are given per argument.

Robo-Dopamine (arXiv 2512.23703) fuses three estimates:

* incremental (BEFORE = previous frame): ``P_I,t = P_I,t-1 + (1 - P_I,t-1) h`` if ``h >= 0`` else
  ``P_I,t-1 + P_I,t-1 h`` (inverse of the hop label definition);
* forward (BEFORE = reference start): ``P_F,t = h``;
* backward (BEFORE = reference goal): ``P_B,t = 1 + h``;

and guards the update with their consistency::

    Phibar_t = (P_F + P_B) / 2,  D = |P_B - P_F| / (Phibar + eps),  w = exp(-alpha D^2)
    Phi_t = Phi_{t-1} + (w / 2) (Phibar_t - Phi_{t-1} + dP_I)

so that when the two absolute estimates disagree the potential barely moves (a robust "hold"), and when they
agree it moves half way to their mean plus half the incremental change. When no goal reference is available the
backward estimate is unavailable; we then use ``P_B = P_F`` (``w = 1``).
"""

from __future__ import annotations

import torch

_EPS = 1e-3


def incremental_update(p_prev: torch.Tensor, hop: torch.Tensor) -> torch.Tensor:
    """(N,) previous incremental progress, (N,) hop in [-1, 1] -> (N,) new incremental progress in [0, 1]."""
    up = p_prev + (1.0 - p_prev) * hop
    down = p_prev + p_prev * hop
    return torch.where(hop >= 0, up, down).clamp(0.0, 1.0)


def forward_progress(hop_from_start: torch.Tensor) -> torch.Tensor:
    """(N,) hop from the reference start -> (N,) progress estimate ``P_F = h`` clipped to [0, 1]."""
    return hop_from_start.clamp(0.0, 1.0)


def backward_progress(hop_from_goal: torch.Tensor) -> torch.Tensor:
    """(N,) hop from the reference goal -> (N,) progress estimate ``P_B = 1 + h`` clipped to [0, 1]."""
    return (1.0 + hop_from_goal).clamp(0.0, 1.0)


def consistency_weight(p_f: torch.Tensor, p_b: torch.Tensor, alpha: float) -> torch.Tensor:
    """(N,) forward and backward estimates -> (N,) weight ``w = exp(-alpha D^2)`` in (0, 1]."""
    bar = 0.5 * (p_f + p_b)
    d = (p_b - p_f).abs() / (bar + _EPS)
    return torch.exp(-alpha * d * d)


def fused_update(
    phi_prev: torch.Tensor,
    p_f: torch.Tensor,
    p_b: torch.Tensor,
    dp_i: torch.Tensor,
    alpha: float,
) -> torch.Tensor:
    """One guarded fusion step.

    Args:
        phi_prev: (N,) previous fused progress.
        p_f: (N,) forward estimate at t.  p_b: (N,) backward estimate at t.
        dp_i: (N,) incremental change ``P_I,t - P_I,t-1``.
        alpha: consistency sharpness (0 disables the guard).

    Returns:
        (N,) fused progress in [0, 1].
    """
    bar = 0.5 * (p_f + p_b)
    w = consistency_weight(p_f, p_b, alpha)
    return (phi_prev + 0.5 * w * (bar - phi_prev + dp_i)).clamp(0.0, 1.0)


def initial_progress(p_f: torch.Tensor, p_b: torch.Tensor) -> torch.Tensor:
    """Progress at the first frame of an episode: the mean of the absolute estimates, (N,) -> (N,).

    The paper starts the incremental chain at 0; we start every chain at the absolute estimate so an episode that
    does not begin at the task's start state (e.g. a rewound video, or a reset into a half-done state) is scored
    correctly from its first frame.
    """
    return (0.5 * (p_f + p_b)).clamp(0.0, 1.0)


def estimate_spread(p_i: torch.Tensor, p_f: torch.Tensor, p_b: torch.Tensor) -> torch.Tensor:
    """Uncertainty: population std of the three estimates, (N,) x3 -> (N,) >= 0 (0 = all agree)."""
    return torch.stack([p_i, p_f, p_b], dim=0).std(dim=0, unbiased=False)
