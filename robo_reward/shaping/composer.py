"""Per-environment shaped-reward composer: caches Phi(s), adds the named terms, keeps per-term episode sums."""

from __future__ import annotations

import logging
from typing import Sequence

import numpy as np
import torch

from robo_reward.shaping import terms
from robo_reward.shaping.config import ShapingConfig, ShapingKind, SparseSource

logger = logging.getLogger(__name__)

EnvIds = Sequence[int] | np.ndarray | torch.Tensor


class ShapedReward:
    """Shaped reward for N parallel environments (IsaacLab ``RewardManager`` style, one dense + one sparse term).

    ``compute`` returns the total (N,) and the weighted per-term values ``{"<kind>": (N,), "sparse": (N,)}``
    whose sum is the total; episode sums of every term are kept per env and handed back by ``reset``.
    Log them as ``reward/<term>``.

    Args:
        cfg: shaping configuration.
        learner_gamma: the learner's discount; used for PBRS when ``cfg.gamma`` is None.
        num_envs: N.
        device: device of the cached potentials and sums (follow the reward model's device).
    """

    def __init__(self, cfg: ShapingConfig, learner_gamma: float, num_envs: int, device: str | torch.device = "cpu"):
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}.")
        self.cfg = cfg
        self.gamma = cfg.resolve_gamma(learner_gamma)
        self.num_envs = num_envs
        self.device = torch.device(device)
        self.phi = torch.zeros(num_envs, device=self.device)  # (N,) cached Phi(s) of the current state
        self.term_names: tuple[str, ...] = (cfg.kind.value, "sparse")
        self.episode_sums = {name: torch.zeros(num_envs, device=self.device) for name in self.term_names}

    def _ids(self, env_ids: EnvIds | None) -> torch.Tensor:
        if env_ids is None:
            return torch.arange(self.num_envs, device=self.device)
        ids = torch.as_tensor(env_ids, device=self.device).to(torch.long).reshape(-1)
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= self.num_envs):
            raise ValueError(f"env_ids must be in [0, {self.num_envs}), got {ids.tolist()}.")
        return ids

    def reset(self, env_ids: EnvIds | None, phi0: torch.Tensor | np.ndarray | float) -> dict[str, torch.Tensor]:
        """Start new episodes in ``env_ids`` with initial potential ``phi0`` (len(env_ids),) or scalar.

        Returns:
            The finished episodes' per-term sums ``{term: (len(env_ids),)}`` (then zeroed). Other envs are untouched.
        """
        ids = self._ids(env_ids)
        finished = {name: s[ids].clone() for name, s in self.episode_sums.items()}
        for s in self.episode_sums.values():
            s[ids] = 0.0
        self.phi[ids] = torch.as_tensor(phi0, device=self.device, dtype=torch.float32).expand(ids.shape)
        return finished

    def compute(
        self,
        phi_next: torch.Tensor | np.ndarray,
        *,
        terminated: torch.Tensor | np.ndarray,
        success_prob: torch.Tensor | np.ndarray | None = None,
        env_success: torch.Tensor | np.ndarray | None = None,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Reward for the transition s -> s' of every env, then cache Phi(s') as the new Phi(s).

        Args:
            phi_next: (N,) Phi(s') from the reward model (the real value; the terminal convention is applied here).
            terminated: (N,) bool, true absorbing end (Phi(s') := 0 for PBRS). Time-limit ends must be False here.
            success_prob: (N,) model success probability (needed for sparse="model").
            env_success: (N,) bool env success flag (needed for sparse="env").
        Returns:
            total (N,) float32 and the weighted terms {name: (N,)} that sum to it.
        """
        cfg = self.cfg
        phi_next_t = torch.as_tensor(phi_next, device=self.device, dtype=torch.float32).reshape(-1)
        if phi_next_t.shape[0] != self.num_envs:
            raise ValueError(f"phi_next must have shape ({self.num_envs},), got {tuple(phi_next_t.shape)}.")
        terminated_t = torch.as_tensor(terminated, device=self.device).to(torch.bool).reshape(-1)

        if cfg.kind is ShapingKind.pbrs:
            dense = terms.pbrs(self.phi, phi_next_t, self.gamma, terminated_t)
        elif cfg.kind is ShapingKind.naive:
            dense = terms.naive(phi_next_t)
        elif cfg.kind is ShapingKind.delta:
            dense = terms.delta(self.phi, phi_next_t)
        elif cfg.kind is ShapingKind.sigmoid:
            dense = terms.sigmoid(phi_next_t, cfg.sigmoid_k, cfg.sigmoid_ref)
        else:
            dense = torch.zeros_like(phi_next_t)

        if cfg.sparse is SparseSource.env:
            if env_success is None:
                raise ValueError("shaping.sparse='env' needs the env's success flag (info['success']); "
                                 "the env did not provide it. Use shaping.sparse=model or none.")
            sparse = terms.env_success(torch.as_tensor(env_success, device=self.device))
        elif cfg.sparse is SparseSource.model:
            if success_prob is None:
                raise ValueError("shaping.sparse='model' needs success_prob from the reward model.")
            sparse = terms.model_success(phi_next_t, torch.as_tensor(success_prob, device=self.device),
                                         mode=cfg.model_success.value,
                                         success_threshold=cfg.success_threshold, delta=cfg.delta)
        else:
            sparse = torch.zeros_like(phi_next_t)

        values = {cfg.kind.value: cfg.dense_weight * dense, "sparse": cfg.sparse_weight * sparse.reshape(-1)}
        total = values[cfg.kind.value] + values["sparse"]
        for name, v in values.items():
            self.episode_sums[name] += v
        self.phi = phi_next_t.clone()
        return total, values
