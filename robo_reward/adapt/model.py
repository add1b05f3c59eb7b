"""The adapted reward model: per-view small heads on frozen embeddings, fused by averaging over views.

Each view has an ensemble of MLPs. Input features of a frame embedding ``e`` (D,):

* ``z = (e - mu) / s``: the embedding standardised with the demo's statistics (mean ``mu``, one scalar ``s``);
* ``cos(z, r_k)`` for reference embeddings ``r_k`` (demo start, the end of every stage, the goal), which move
  less than raw features when colours or the camera change.

Each member outputs a progress logit and a success logit; progress = mean over members of ``sigmoid``; the
spread of the members is the uncertainty.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from robo_reward.types import ProgressOutput


@dataclass
class HeadConfig:
    """Size and training of the per-view heads."""

    hidden: int = 64
    """hidden units of each MLP"""
    members: int = 3
    """ensemble members per view (their spread is the uncertainty)"""
    dropout: float = 0.2
    """dropout on the input features and the hidden layer"""
    steps: int = 200
    """full-batch AdamW steps per view"""
    lr: float = 3e-3
    weight_decay: float = 1e-2
    feature_noise: float = 0.3
    """std of Gaussian noise added to standardised embeddings while training"""
    mixup_gap: int = 3
    """mixup partners are at most this many frames apart"""
    rank_weight: float = 0.3
    """weight of the pairwise ranking loss (later frame > earlier frame; reversed pairs are the negatives)"""
    success_weight: float = 0.5
    success_threshold: float = 0.95
    """demo frames whose progress label is >= this are the success positives"""

    def __post_init__(self) -> None:
        for name in ("hidden", "members", "steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"head.{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"head.dropout must be in [0, 1), got {self.dropout}")
        if not 0.0 < self.success_threshold <= 1.0:
            raise ValueError(f"head.success_threshold must be in (0, 1], got {self.success_threshold}")


class ViewHead(nn.Module):
    """Progress and success logits for one camera view.  forward: (N, D) embeddings -> (M, N, 2) logits."""

    def __init__(self, embed_dim: int, num_refs: int, cfg: HeadConfig) -> None:
        super().__init__()
        self.register_buffer("mu", torch.zeros(embed_dim))
        self.register_buffer("scale", torch.ones(()))
        self.register_buffer("refs", torch.zeros(num_refs, embed_dim))  # standardised reference embeddings
        d_in = embed_dim + num_refs
        self.members = nn.ModuleList(
            nn.Sequential(
                nn.Dropout(cfg.dropout),
                nn.Linear(d_in, cfg.hidden),
                nn.GELU(),
                nn.Dropout(cfg.dropout),
                nn.Linear(cfg.hidden, 2),
            )
            for _ in range(cfg.members)
        )

    def standardise(self, emb: torch.Tensor) -> torch.Tensor:
        """(N, D) raw embeddings -> (N, D) standardised."""
        return (emb - self.mu) / self.scale

    def features(self, z: torch.Tensor) -> torch.Tensor:
        """(N, D) standardised -> (N, D + R) head input."""
        sims = nn.functional.normalize(z, dim=-1) @ nn.functional.normalize(self.refs, dim=-1).T
        return torch.cat([z, 3.0 * sims], dim=-1)

    def forward_standardised(self, z: torch.Tensor) -> torch.Tensor:
        f = self.features(z)
        return torch.stack([m(f) for m in self.members])

    def forward(self, emb: torch.Tensor) -> torch.Tensor:
        return self.forward_standardised(self.standardise(emb))


class AdaptedReward(nn.Module):
    """Per-view heads; ``score`` fuses the views the episode has."""

    def __init__(self, views: list[str], embed_dim: int, num_refs: int, cfg: HeadConfig) -> None:
        super().__init__()
        self.views = list(views)
        self.cfg = cfg
        self.heads = nn.ModuleDict({v: ViewHead(embed_dim, num_refs, cfg) for v in views})

    @torch.no_grad()
    def score(self, embeddings: dict[str, np.ndarray | torch.Tensor]) -> ProgressOutput:
        """embeddings: model view -> (N, D) for each view to use (a subset of ``views``).  Returns (N,) tensors."""
        if not embeddings:
            raise ValueError("score: no view given; expected some of " + ", ".join(self.views))
        self.eval()
        probs = []
        for view, emb in embeddings.items():
            x = torch.as_tensor(np.asarray(emb, dtype=np.float32))
            probs.append(torch.sigmoid(self.heads[view](x)))  # (M, N, 2)
        p = torch.cat(probs)  # (V*M, N, 2)
        return ProgressOutput(progress=p[..., 0].mean(0), success_prob=p[..., 1].mean(0), uncertainty=p[..., 0].std(0, unbiased=False))
