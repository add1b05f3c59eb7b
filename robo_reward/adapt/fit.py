"""Fit the per-view heads of an :class:`AdaptedReward` on one demo (frozen embeddings, a few seconds on CPU)."""

from __future__ import annotations

import logging

import numpy as np
import torch
import torch.nn.functional as F

from robo_reward.adapt.model import AdaptedReward, HeadConfig, ViewHead
from robo_reward.data.episodes import StageSpan

logger = logging.getLogger(__name__)


def reference_frames(stages: list[StageSpan], num_frames: int) -> list[int]:
    """Frames whose embeddings become references: the start, the end of every stage (the last is the goal)."""
    idx = [0] + [s.end_frame for s in stages]
    if idx[-1] != num_frames - 1:
        idx.append(num_frames - 1)
    return sorted(set(idx))


def _reference_embeddings(emb: np.ndarray, frames: list[int], width: int = 1) -> np.ndarray:
    """Mean embedding (over copies and +-width frames) around each reference frame.  (C, T, D) -> (R, D)."""
    t_len = emb.shape[1]
    return np.stack([emb[:, max(0, f - width) : min(t_len, f + width + 1)].mean((0, 1)) for f in frames])


def fit_view_head(
    emb: np.ndarray,
    labels: np.ndarray,
    ref_frames: list[int],
    cfg: HeadConfig,
    seed: int,
) -> tuple[ViewHead, dict[str, float]]:
    """Train one view's head.

    Args:
        emb: (C, T, D) embeddings of the demo view; copy 0 = original, the others domain-jittered.
        labels: (T,) progress targets in [0, 1].
        ref_frames: frame indices of the reference embeddings.
    Returns:
        The trained head (eval mode) and training figures (final losses).
    """
    c_len, t_len, d = emb.shape
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    head = ViewHead(d, len(ref_frames), cfg)
    x = torch.from_numpy(emb.reshape(-1, d).astype(np.float32))
    mu = x.mean(0)
    scale = (x - mu).pow(2).mean().sqrt().clamp_min(1e-6)
    head.mu.copy_(mu)
    head.scale.copy_(scale)
    refs = torch.from_numpy(_reference_embeddings(emb, ref_frames).astype(np.float32))
    head.refs.copy_((refs - mu) / scale)
    z_all = ((x - mu) / scale).view(c_len, t_len, d)
    y = torch.from_numpy(labels.astype(np.float32))
    s = (y >= cfg.success_threshold - 1e-6).float()
    if s.sum() < 2:  # at least the last two frames are "success"
        s[-2:] = 1.0
    pos_weight = ((1 - s).sum() / s.sum().clamp_min(1)).clamp(1.0, 20.0)

    opt = torch.optim.AdamW(head.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    copies = np.repeat(np.arange(c_len), t_len)
    t_idx = np.tile(np.arange(t_len), c_len)
    head.train()
    losses: dict[str, float] = {}
    for _ in range(cfg.steps):
        gap = rng.integers(-cfg.mixup_gap, cfg.mixup_gap + 1, size=t_idx.size)
        t2 = np.clip(t_idx + gap, 0, t_len - 1)
        lam = torch.from_numpy(rng.uniform(0, 1, size=t_idx.size).astype(np.float32))
        ci, ti, tj = torch.from_numpy(copies), torch.from_numpy(t_idx), torch.from_numpy(t2)
        z = lam[:, None] * z_all[ci, ti] + (1 - lam[:, None]) * z_all[ci, tj]
        yy = lam * y[ti] + (1 - lam) * y[tj]
        ss = lam * s[ti] + (1 - lam) * s[tj]
        z = z + cfg.feature_noise * torch.randn(z.shape, generator=gen)
        out = head.forward_standardised(z)  # (M, N, 2)
        loss_p = F.mse_loss(torch.sigmoid(out[..., 0]), yy.expand_as(out[..., 0]))
        loss_s = F.binary_cross_entropy_with_logits(out[..., 1], ss.expand_as(out[..., 1]), pos_weight=pos_weight)
        i = torch.from_numpy(rng.integers(0, len(yy), size=512))
        j = torch.from_numpy(rng.integers(0, len(yy), size=512))
        dy = yy[j] - yy[i]
        keep = dy.abs() > 0.05
        if keep.any():
            sign = torch.sign(dy[keep])
            margin = (out[:, j[keep], 0] - out[:, i[keep], 0]) * sign
            loss_r = F.softplus(-margin).mean()
        else:
            loss_r = torch.zeros(())
        loss = loss_p + cfg.success_weight * loss_s + cfg.rank_weight * loss_r
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses = {"progress_mse": loss_p.item(), "success_bce": loss_s.item(), "rank": loss_r.item()}
    head.eval()
    return head, losses


def fit_adapted_reward(
    embeddings: dict[str, np.ndarray],
    labels: np.ndarray,
    stages: list[StageSpan],
    cfg: HeadConfig,
    seed: int = 0,
) -> tuple[AdaptedReward, dict[str, dict[str, float]]]:
    """Train one head per view.  embeddings: view -> (C, T, D); labels: (T,)."""
    views = list(embeddings)
    t_len, d = embeddings[views[0]].shape[1:]
    refs = reference_frames(stages, t_len)
    model = AdaptedReward(views, d, len(refs), cfg)
    figures: dict[str, dict[str, float]] = {}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny MLPs: one thread is faster, and much faster on a busy machine
    try:
        for k, view in enumerate(views):
            head, figures[view] = fit_view_head(embeddings[view], labels, refs, cfg, seed + 1000 * k)
            model.heads[view] = head
            logger.info("view %s: %s", view, {k2: round(v, 4) for k2, v in figures[view].items()})
    finally:
        torch.set_num_threads(threads)
    model.eval()
    return model, figures
