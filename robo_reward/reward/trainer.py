"""The training loop of the hop model on embedded episodes (single process or torchrun data-parallel).

Data parallelism: every rank draws the same global batch from an identically seeded sampler and keeps the slice
``rank::world_size``; DDP averages gradients, so a run on W processes follows the single-process run up to float
reduction order (and torch dropout, which is per-rank). Backend: NCCL on CUDA, gloo on CPU; detected from the
``WORLD_SIZE`` / ``RANK`` / ``LOCAL_RANK`` variables torchrun sets.
"""

from __future__ import annotations

import gc
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from robo_reward.progress import ProgressBar
from robo_reward.reward.checkpoint import load_training_state, save_training_state
from robo_reward.reward.data import Batch, EmbeddedEpisode, PairSampler
from robo_reward.reward.labels import two_hot
from robo_reward.reward.model import HopModel, RewardModelConfig

logger = logging.getLogger(__name__)


@dataclass
class DistInfo:
    """Where this process sits in a data-parallel run."""

    world_size: int = 1
    rank: int = 0
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls) -> "DistInfo":
        return cls(int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("RANK", 0)), int(os.environ.get("LOCAL_RANK", 0)))


def init_distributed(device: torch.device) -> DistInfo:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1); a no-op otherwise."""
    info = DistInfo.from_env()
    if info.world_size > 1 and not torch.distributed.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        torch.distributed.init_process_group(backend=backend)
        logger.info("rank %d/%d joined (%s)", info.rank, info.world_size, backend)
    return info


@dataclass
class LoopConfig:
    """Optimisation settings of :func:`train_hop_model`."""

    steps: int = 3000
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 100
    grad_clip: float = 1.0
    done_weight: float = 0.5
    engaged_weight: float = 0.5
    """weight of the engaged head's BCE (models with that head)"""
    seed: int = 0
    log_every: int = 25
    checkpoint_every: int = 500
    kind_probs: tuple[float, float, float] = (0.3, 0.2, 0.5)
    max_steps_this_run: int | None = None
    """stop (with a checkpoint) after this many steps in this invocation; resume later (time-sliced jobs)"""
    extra: dict[str, Any] = field(default_factory=dict)


def batch_to_torch(b: Batch, device: torch.device) -> dict[str, torch.Tensor]:
    return {k: torch.as_tensor(getattr(b, k), device=device) for k in b.__dataclass_fields__}


def hop_loss(model: HopModel, t: Mapping[str, torch.Tensor], done_weight: float, engaged_weight: float = 0.5
             ) -> tuple[torch.Tensor, dict[str, float]]:
    """Loss of one batch: soft-target cross-entropy (or smooth-L1 for regression) + weighted done BCE + weighted
    engaged BCE over the queries whose episode has stage labels (``engaged_mask``; a model with the engaged head)."""
    out = model(t["before"], t["after"], t["start"], t["goal"], t["goal_mask"], t["view_mask"], t["text"], t["text_mask"])
    if model.cfg.head == "classification":
        target = torch.as_tensor(two_hot(t["hop"].cpu().numpy(), model.cfg.num_bins), device=out["logits"].device)
        l_hop = -(target * out["logits"].log_softmax(-1)).sum(-1).mean()
    else:
        l_hop = F.smooth_l1_loss(out["hop"], t["hop"], beta=0.1)
    l_done = F.binary_cross_entropy_with_logits(out["done_logit"], t["done"])
    loss = l_hop + done_weight * l_done
    metrics = {"hop_loss": l_hop.item(), "done_loss": l_done.item()}
    if "engaged_logit" in out and "engaged" in t:
        # a masked mean that keeps the head in the graph when no query of this rank has labels (DDP needs every
        # parameter used in every step)
        w = t["engaged_mask"].float()
        bce = F.binary_cross_entropy_with_logits(out["engaged_logit"], t["engaged"], reduction="none")
        l_eng = (bce * w).sum() / w.sum().clamp_min(1.0)
        loss = loss + engaged_weight * l_eng
        metrics["engaged_loss"] = l_eng.item()
    mae = (out["hop"] - t["hop"]).abs().mean()
    return loss, {"loss": loss.item(), **metrics, "hop_mae": mae.item()}


def train_hop_model(
    episodes: Sequence[EmbeddedEpisode],
    texts: Mapping[str, np.ndarray],
    views: Sequence[str],
    model_cfg: RewardModelConfig,
    loop: LoopConfig,
    out_dir: str | Path | None = None,
    device: torch.device | str = "cpu",
    writer: Any | None = None,
    progress_bar: bool = True,
) -> tuple[HopModel, list[dict[str, float]]]:
    """Train a hop model; resumes from ``out_dir/checkpoints/last.pt`` when present.

    Args:
        episodes: labelled episodes (every view in ``views`` present).
        texts: task -> (T_d,) text embedding.
        views: model view order.
        model_cfg / loop: hyper-parameters.
        out_dir: where resumable checkpoints go (None: no checkpoints).
        device: torch device.  writer: a TensorBoard SummaryWriter (main rank only) or None.

    Returns:
        (model in eval mode, unwrapped; per-log-step history of global metrics).
    """
    device = torch.device(device)
    dist = init_distributed(device)
    if loop.batch_size % dist.world_size:
        raise ValueError(f"batch_size {loop.batch_size} must be divisible by the number of processes {dist.world_size}")
    d = int(episodes[0].emb[views[0]].shape[1])
    text_dim = int(next(iter(texts.values())).shape[0])
    torch.manual_seed(loop.seed)
    model = HopModel(model_cfg, views, d, text_dim).to(device)
    sampler = PairSampler(
        episodes, views, texts, loop.kind_probs, model_cfg.view_dropout, model_cfg.text_dropout, model_cfg.goal_dropout
    )
    opt = torch.optim.AdamW(model.parameters(), lr=loop.lr, weight_decay=loop.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: _lr_factor(s, loop.warmup_steps, loop.steps))
    rng = np.random.default_rng(loop.seed)
    step = 0
    history: list[dict[str, float]] = []
    ckpt = Path(out_dir) / "checkpoints" / "last.pt" if out_dir is not None else None
    if ckpt is not None and ckpt.is_file():
        st = load_training_state(ckpt)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["optimizer"])
        sched.load_state_dict(st["scheduler"])
        step = int(st["step"])
        rng.bit_generator.state = _np_state_from_saved(st["numpy_rng"])
        torch.set_rng_state(st["torch_rng"])
        history = list(st.get("history", []))
        logger.info("resumed from %s at step %d", ckpt, step)
    net: torch.nn.Module = model
    if dist.world_size > 1:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    model.train()
    bar = ProgressBar(total=loop.steps, initial=step, disable=None if progress_bar and dist.is_main else True,
                      mininterval=0.5, desc="train reward", unit="step", leave=False)
    first = step
    while step < loop.steps and (loop.max_steps_this_run is None or step - first < loop.max_steps_this_run):
        batch = sampler.sample(loop.batch_size, rng).slice(slice(dist.rank, None, dist.world_size))
        t = batch_to_torch(batch, device)
        loss, metrics = hop_loss(_Unwrap(net, model), t, loop.done_weight, loop.engaged_weight)  # type: ignore[arg-type]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), loop.grad_clip)
        opt.step()
        sched.step()
        step += 1
        bar.update(1)
        if step % loop.log_every == 0 or step == loop.steps:
            metrics = _all_reduce_mean(metrics, dist)
            metrics.update(step=float(step), lr=float(sched.get_last_lr()[0]), grad_norm=float(gnorm))
            history.append(metrics)
            bar.set_postfix(loss=f"{metrics['loss']:.4f}", mae=f"{metrics['hop_mae']:.3f}")
            if writer is not None and dist.is_main:
                for k, v in metrics.items():
                    if k != "step":
                        writer.add_scalar(f"train/{k}", v, step)
        if ckpt is not None and dist.is_main and (
            step % loop.checkpoint_every == 0 or step == loop.steps or step - first == loop.max_steps_this_run
        ):
            save_training_state(ckpt, {
                "model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                "step": step, "numpy_rng": _np_state_to_saved(rng.bit_generator.state),
                "torch_rng": torch.get_rng_state(), "history": history,
            })
    bar.close()
    if net is not model:
        # Free the DDP wrapper while the interpreter is fully alive: it sits in reference cycles that keep the gloo
        # process group alive past destroy_process_group(), and when the cycle collector only reached them at
        # interpreter exit, tearing down the group's threads aborted the process now and then ("terminate called
        # without an active exception"; the two-process torchrun test beside two busy loops: 4 aborts in 120 runs
        # before, none in 124 with a collection: 57 here, 67 in the test helper).
        del net
        gc.collect()
    model.eval()
    return model, history


class _Unwrap(torch.nn.Module):
    """Calls the DDP wrapper (so gradients sync) while exposing the model's ``cfg``."""

    def __init__(self, net: torch.nn.Module, model: HopModel) -> None:
        super().__init__()
        self.net = net
        self.cfg = model.cfg

    def forward(self, *args: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.net(*args)


def _lr_factor(step: int, warmup: int, total: int) -> float:
    if step < warmup:
        return (step + 1) / max(warmup, 1)
    frac = (step - warmup) / max(total - warmup, 1)
    # a Python float: a numpy scalar would land in the scheduler state and break weights_only loading
    return float(0.5 * (1 + np.cos(np.pi * min(frac, 1.0))) * 0.95 + 0.05)


def _all_reduce_mean(metrics: dict[str, float], dist: DistInfo) -> dict[str, float]:
    if dist.world_size == 1:
        return metrics
    keys = sorted(metrics)
    t = torch.tensor([metrics[k] for k in keys], dtype=torch.float64)
    torch.distributed.all_reduce(t)
    return {k: float(v) / dist.world_size for k, v in zip(keys, t.tolist())}


def _np_state_to_saved(state: dict[str, Any]) -> dict[str, Any]:
    # PCG64 state holds 128-bit ints; weights_only loading accepts them as strings
    return {"bit_generator": state["bit_generator"], "state": str(state["state"]["state"]),
            "inc": str(state["state"]["inc"]), "has_uint32": int(state["has_uint32"]), "uinteger": int(state["uinteger"])}


def _np_state_from_saved(s: dict[str, Any]) -> dict[str, Any]:
    return {"bit_generator": s["bit_generator"], "state": {"state": int(s["state"]), "inc": int(s["inc"])},
            "has_uint32": s["has_uint32"], "uinteger": s["uinteger"]}
