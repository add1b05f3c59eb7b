"""The hop model: a small multi-view transformer over frozen backbone embeddings.

One query asks "how far did the scene move from BEFORE to AFTER, relative to the task" and answers with a
distribution over discrete hop bins in [-1, 1] (plus, optionally, a plain regression head to compare against),
a "task done at AFTER" logit used for the success probability, and an "engaged at AFTER" logit (the attempt is past
the task's first stage) used to tell partial from failed attempts.

Tokens (width ``hidden``, default 128)::

    [CLS] [TEXT or NO-TEXT] [VIEW_1] ... [VIEW_V]

Each view token fuses, for that camera, the projected BEFORE ``b``, AFTER ``a``, reference start ``s`` and
reference goal ``g`` embeddings (``g`` replaced by a learned NO-GOAL vector when absent) through an MLP over
``[b, a, a-b, a-s, g, g-a]`` plus a learned view embedding. Putting the differences in explicitly (instead of
separate before/after/ref tokens, 4V+2 tokens) lets a tiny model learn relative motion from few demos and keeps
the sequence short (V+2) for fast streaming. Views are fused by self-attention with a key-padding mask, so any
non-empty subset of the trained views works; training drops views at random so single views are good too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from robo_reward.reward.labels import bin_centers

logger = logging.getLogger(__name__)


@dataclass
class RewardModelConfig:
    """Hyper-parameters of the hop model (the data decides views and embedding sizes)."""

    hidden: int = 128
    """width of every token (each view embedding is projected to this)"""
    layers: int = 2
    """transformer encoder layers"""
    heads: int = 4
    """attention heads"""
    num_bins: int = 31
    """hop bins over [-1, 1] (odd, so 0 is a bin centre)"""
    head: str = "classification"
    """hop head: distribution over bins (expectation used) or plain tanh regression"""
    dropout: float = 0.1
    """dropout inside the transformer"""
    view_dropout: float = 0.3
    """training: probability of dropping each view (at least one is always kept)"""
    text_dropout: float = 0.2
    """training: probability of replacing the task text with the NO-TEXT token"""
    goal_dropout: float = 0.2
    """training: probability of hiding the reference goal (NO-GOAL token)"""
    alpha: float = 2.0
    """consistency sharpness of the forward/backward fusion guard"""
    feature_noise: float = 0.0
    """training: std of Gaussian noise added to the layer-normalised embeddings (regularises with few demos)"""
    engaged_head: bool = True
    """a third head: "the attempt is past the task's first stage at AFTER" (a frame-level reading of the stage
    detector that defines a partial attempt); with ``outcome_rule: engaged`` its peak over an episode separates
    partial from failed attempts (see reward/calibration.py). Models saved before it existed load with False."""

    def __post_init__(self) -> None:
        if self.hidden % self.heads != 0:
            raise ValueError(f"hidden ({self.hidden}) must be divisible by heads ({self.heads}); change one of them")
        if self.num_bins < 3 or self.num_bins % 2 == 0:
            raise ValueError(f"num_bins must be an odd number >= 3, got {self.num_bins}")
        if self.head not in ("classification", "regression"):
            raise ValueError(f"head must be 'classification' or 'regression', got {self.head!r}")
        if self.feature_noise < 0:
            raise ValueError(f"feature_noise must be >= 0, got {self.feature_noise}")
        for name in ("dropout", "view_dropout", "text_dropout", "goal_dropout"):
            v = getattr(self, name)
            if not 0.0 <= v < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {v}")
        if self.layers < 1:
            raise ValueError(f"layers must be >= 1, got {self.layers}")
        if self.alpha < 0:
            raise ValueError(f"alpha must be >= 0, got {self.alpha}")


class HopModel(nn.Module):
    """Predicts the relative hop between two observations given task text and reference start/goal.

    Args:
        cfg: hyper-parameters.
        views: the camera names the model was trained with (order fixes the view embeddings).
        embed_dim: D, backbone embedding size.  text_dim: text embedding size.
    """

    def __init__(self, cfg: RewardModelConfig, views: Sequence[str], embed_dim: int, text_dim: int) -> None:
        super().__init__()
        if not views:
            raise ValueError("HopModel needs at least one view")
        self.cfg = cfg
        self.views = tuple(views)
        self.embed_dim = int(embed_dim)
        self.text_dim = int(text_dim)
        h = cfg.hidden
        self.proj = nn.Sequential(nn.LayerNorm(embed_dim), nn.Linear(embed_dim, h))
        self.view_mlp = nn.Sequential(nn.Linear(6 * h, 2 * h), nn.GELU(), nn.Linear(2 * h, h))
        self.view_embed = nn.Parameter(torch.randn(len(self.views), h) * 0.02)
        self.no_goal = nn.Parameter(torch.zeros(h))
        self.text_proj = nn.Sequential(nn.LayerNorm(text_dim), nn.Linear(text_dim, h))
        self.no_text = nn.Parameter(torch.zeros(h))
        self.cls = nn.Parameter(torch.randn(h) * 0.02)
        self.type_embed = nn.Parameter(torch.randn(2, h) * 0.02)  # 0: cls, 1: text
        layer = nn.TransformerEncoderLayer(
            d_model=h, nhead=cfg.heads, dim_feedforward=2 * h, dropout=cfg.dropout, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, num_layers=cfg.layers, enable_nested_tensor=False)
        self.out_norm = nn.LayerNorm(h)
        out = cfg.num_bins if cfg.head == "classification" else 1
        self.hop_head = nn.Linear(h, out)
        self.done_head = nn.Linear(h, 1)
        self.engaged_head = nn.Linear(h, 1) if cfg.engaged_head else None
        self.register_buffer("centers", torch.from_numpy(bin_centers(cfg.num_bins)), persistent=False)

    def forward(
        self,
        before: torch.Tensor,
        after: torch.Tensor,
        start: torch.Tensor,
        goal: torch.Tensor,
        goal_mask: torch.Tensor,
        view_mask: torch.Tensor,
        text: torch.Tensor,
        text_mask: torch.Tensor,
    ) -> dict[str, torch.Tensor]:
        """Score B queries.

        Args:
            before, after, start, goal: (B, V, D) embeddings in the model's view order (masked views: any values).
            goal_mask: (B,) bool, True where a goal reference is given.
            view_mask: (B, V) bool, True for the views present (each row needs at least one).
            text: (B, T_d) task text embeddings.  text_mask: (B,) bool, True where text is given.

        Returns:
            dict with ``hop`` (B,) expected hop in [-1, 1], ``logits`` (B, K) (classification head) or (B, 1),
            ``done_logit`` (B,), ``hop_std`` (B,) std of the hop distribution (0 for regression), and with the
            engaged head ``engaged_logit`` (B,).
        """
        b, a, s, g = (self._project(x) for x in (before, after, start, goal))
        g = torch.where(goal_mask[:, None, None], g, self.no_goal.expand_as(g))
        feats = torch.cat([b, a, a - b, a - s, g, g - a], dim=-1)
        view_tok = self.view_mlp(feats) + self.view_embed  # (B, V, h)
        t = self.text_proj(text)
        t = torch.where(text_mask[:, None], t, self.no_text.expand_as(t))
        n = before.shape[0]
        cls = (self.cls + self.type_embed[0]).expand(n, 1, -1)
        tok = torch.cat([cls, (t + self.type_embed[1])[:, None], view_tok], dim=1)
        pad = torch.cat([torch.zeros(n, 2, dtype=torch.bool, device=tok.device), ~view_mask], dim=1)
        z = self.out_norm(self.encoder(tok, src_key_padding_mask=pad)[:, 0])
        logits = self.hop_head(z)
        if self.cfg.head == "classification":
            prob = logits.softmax(dim=-1)
            hop = prob @ self.centers
            var = (prob * (self.centers[None] - hop[:, None]) ** 2).sum(-1)
            hop_std = var.clamp_min(0).sqrt()
        else:
            hop = torch.tanh(logits[:, 0])
            hop_std = torch.zeros_like(hop)
        out = {"hop": hop, "logits": logits, "done_logit": self.done_head(z)[:, 0], "hop_std": hop_std}
        if self.engaged_head is not None:
            out["engaged_logit"] = self.engaged_head(z)[:, 0]
        return out

    def _project(self, x: torch.Tensor) -> torch.Tensor:
        """(B, V, D) -> (B, V, h): LayerNorm, (training: + feature noise), Linear."""
        x = self.proj[0](x)
        if self.training and self.cfg.feature_noise > 0:
            x = x + self.cfg.feature_noise * torch.randn_like(x)
        return self.proj[1](x)
