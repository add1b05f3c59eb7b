"""Pure reward-term functions on torch tensors (any device; numpy inputs are accepted via torch.as_tensor).

All functions take per-environment vectors of shape (N,) and return (N,) float32 tensors on the device of
the first tensor argument (``phi_next``).

Terminal convention (used by :func:`pbrs`, the wrappers and the Isaac Lab term):

* ``terminated`` (a true absorbing end: success, failure, object dropped off the table) -> Phi(s_T) := 0.
  Ng, Harada & Russell (1999) prove policy invariance for F = gamma*Phi(s') - Phi(s) with Phi = 0 at
  absorbing states. The learner does not bootstrap after a termination, so the discounted sum of the
  shaping terms over an episode telescopes to exactly -Phi(s_0), which does not depend on the policy.
  Keeping the real Phi(s_T) here would pay a policy-dependent gamma^T * Phi(s_T) bonus and would, e.g.,
  make ending the episode early in a high-progress state attractive.
* ``truncated`` (time limit) -> keep the real Phi(s_T). The episode did not end in the MDP, so the learner
  bootstraps from V(s_T) (SB3 adds gamma*V(terminal_observation) for PPO and keeps the transition
  non-terminal for SAC via ``TimeLimit.truncated``). The shaped value function is V'(s) = V(s) - Phi(s),
  so the bootstrap target gamma*V'(s_T) already carries -gamma*Phi(s_T); the last shaping term must carry
  +gamma*Phi(s_T) for the two to cancel. Zeroing Phi(s_T) here would punish every time-out by
  gamma*Phi(s_T).
"""

from __future__ import annotations

from typing import Any

import torch

Tensorish = Any  # torch.Tensor | np.ndarray | float | bool


def _as_float(x: Tensorish, like: torch.Tensor | None = None) -> torch.Tensor:
    device = like.device if like is not None else None
    return torch.as_tensor(x, device=device).to(torch.float32)


def _as_bool(x: Tensorish, like: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(x, device=like.device).to(torch.bool)


def terminal_potential(phi_next: Tensorish, terminated: Tensorish) -> torch.Tensor:
    """Phi(s') with the absorbing-state convention applied: 0 where ``terminated``, Phi(s') elsewhere.

    Args:
        phi_next: (N,) progress of the state reached.
        terminated: (N,) bool, True on a true (non-time-limit) episode end.
    Returns:
        (N,) float32.
    """
    phi_next = _as_float(phi_next)
    return torch.where(_as_bool(terminated, phi_next), torch.zeros_like(phi_next), phi_next)


def pbrs(phi: Tensorish, phi_next: Tensorish, gamma: float, terminated: Tensorish = False) -> torch.Tensor:
    """Potential-based shaping F = gamma * Phi(s') - Phi(s), with Phi(s') := 0 where ``terminated``.

    See the module docstring for why truncated (time-limit) ends keep the real Phi(s_T).

    Args:
        phi: (N,) progress of the state acted in.
        phi_next: (N,) progress of the state reached.
        gamma: the learner's discount (must match it for policy invariance).
        terminated: (N,) bool or scalar.
    Returns:
        (N,) float32.
    """
    phi_next_t = terminal_potential(phi_next, terminated)
    return gamma * phi_next_t - _as_float(phi, phi_next_t)


def naive(phi_next: Tensorish) -> torch.Tensor:
    """r = Phi(s'): dense progress as reward (pays the agent for hovering near the goal). (N,) float32."""
    return _as_float(phi_next).clone()


def delta(phi: Tensorish, phi_next: Tensorish) -> torch.Tensor:
    """r = Phi(s') - Phi(s) (no discount, real Phi at every end). (N,) float32."""
    phi_next_t = _as_float(phi_next)
    return phi_next_t - _as_float(phi, phi_next_t)


def sigmoid(phi_next: Tensorish, k: float = 10.0, ref: float = 0.5) -> torch.Tensor:
    """r = sigmoid(k * (Phi(s') - ref)): bounded in (0, 1), centred at ``ref``. (N,) float32."""
    return torch.sigmoid(k * (_as_float(phi_next) - ref))


def env_success(success: Tensorish) -> torch.Tensor:
    """Sparse reward from the environment's success flag: 1.0 where success else 0.0. (N,) float32."""
    return _as_float(torch.as_tensor(success).to(torch.bool))


def model_success(
    progress: Tensorish,
    success_prob: Tensorish,
    *,
    mode: str = "either",
    success_threshold: float = 0.5,
    delta: float = 0.05,
) -> torch.Tensor:
    """Sparse reward from the reward model: 1.0 where it judges the task done, else 0.0.

    Args:
        progress: (N,) Phi(s').
        success_prob: (N,) success probability of s'.
        mode: "prob" (success_prob >= success_threshold), "progress" (Phi(s') >= 1 - delta, Robo-Dopamine's
            r_gold) or "either".
    Returns:
        (N,) float32 in {0, 1}.
    """
    progress_t = _as_float(progress)
    by_prob = _as_float(success_prob, progress_t) >= success_threshold
    by_progress = progress_t >= 1.0 - delta
    if mode == "prob":
        hit = by_prob
    elif mode == "progress":
        hit = by_progress
    elif mode == "either":
        hit = by_prob | by_progress
    else:
        raise ValueError(f"model_success mode must be 'prob', 'progress' or 'either', got {mode!r}.")
    return hit.to(torch.float32)
