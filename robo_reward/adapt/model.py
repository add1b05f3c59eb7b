"""The adapted reward model: per-view small heads on frozen embeddings, fused over views and ensemble members.

Each view has an ensemble of MLPs. Input features of a frame embedding ``e`` (D,):

* ``z = (e - mu) / s``: the embedding standardised with the demo's statistics (mean ``mu``, one scalar ``s``);
* ``cos(z, r_k)`` for reference embeddings ``r_k`` (demo start, the end of every stage, the goal), which move
  less than raw features when colours or the camera change.

Each member outputs a progress logit and a success logit. Progress (and success probability) pools the members of
every given view in log-odds space, ``sigmoid(mean of clamped logits)`` (``HeadConfig.pooling="logit"``), or as the
mean of the members' sigmoids (``"mean"``, the rule before 2026-12-01, which reward directories written then keep);
the spread of the members' sigmoids is the uncertainty.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from robo_reward.types import ProgressOutput

POOLINGS = ("logit", "mean")
LOGIT_CLAMP = 9.21
"""|logit| limit before log-odds pooling (probabilities 1e-4 .. 1 - 1e-4): one saturated member cannot outvote the
others without bound"""


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
    pooling: str = "logit"
    """how the members of all given views are fused: "logit" = sigmoid of the mean clamped logit, "mean" = mean of
    the sigmoids. Leave-one-task-out benchmark (three cameras, three base seeds, adapted ``--base``; VOC / reversed
    VOC / AUROC): logit 0.902 / -0.866 / 0.984, mean 0.899 / -0.864 / 0.960; demo-only heads 0.815 / -0.815 / 0.992
    against 0.781 / -0.781 / 0.976. Chosen on those episodes; on a fresh test set (other seeds) logit 0.870 / -0.840 /
    0.989, mean 0.869 / -0.843 / 0.965. A view that does not recognise the scene gives middling outputs, which pull
    a confident view towards 0.5 in a mean of probabilities more than in a mean of log-odds"""

    def __post_init__(self) -> None:
        for name in ("hidden", "members", "steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"head.{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"head.dropout must be in [0, 1), got {self.dropout}")
        if not 0.0 < self.success_threshold <= 1.0:
            raise ValueError(f"head.success_threshold must be in (0, 1], got {self.success_threshold}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"head.pooling must be one of {POOLINGS}, got {self.pooling!r}")


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
        logits = []
        for view, emb in embeddings.items():
            x = torch.as_tensor(np.asarray(emb, dtype=np.float32))
            logits.append(self.heads[view](x))  # (M, N, 2)
        z = torch.cat(logits)  # (V*M, N, 2)
        p = torch.sigmoid(z)
        fused = torch.sigmoid(z.clamp(-LOGIT_CLAMP, LOGIT_CLAMP).mean(0)) if self.cfg.pooling == "logit" else p.mean(0)
        return ProgressOutput(progress=fused[..., 0], success_prob=fused[..., 1], uncertainty=p[..., 0].std(0, unbiased=False))
