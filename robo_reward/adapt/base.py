"""Adaptation from a trained base reward model (``robo-reward adapt --base CHECKPOINT``).

The base is a reward-model directory written by ``robo-reward train-reward``: a hop model over frozen backbone
embeddings that predicts how far the scene moved between two frames relative to the task, given a reference
start and goal (see :mod:`robo_reward.reward.model`). Adapting it to one demo:

1. the demo is embedded with the *base's* backbone (the hop model only understands those embeddings);
2. the demo's views are mapped onto the base's views (same names first, then the remaining ones by position;
   the base was trained with view dropout, so any subset of its view slots works);
3. the hop model is fine-tuned for a few seconds on hop queries drawn from the demo and its domain-jittered
   copies, labelled with the demo's (discovered or given) stage progress; each copy is a reference for the
   others, so the model learns to measure progress against a start/goal that looks different from the episode;
4. the demo's own first and last frames, and those of its jittered copies, become the reference starts and goals
   used for scoring (``num_references``; the scores against each are averaged).

The fine-tuned model and its references are written as an ordinary reward-model directory inside the adapted
directory (``<out>/base``), so the adapted directory stays self-contained.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from robo_reward.adapt.errors import InputError
from robo_reward.reward.data import Batch, EmbeddedEpisode, PairSampler, Reference
from robo_reward.reward.model import HopModel
from robo_reward.reward.scoring import ProgressScorer
from robo_reward.reward.trainer import batch_to_torch, hop_loss
from robo_reward.types import ProgressOutput

logger = logging.getLogger(__name__)

BASE_SUBDIR = "base"
"""folder of the fine-tuned base model inside an adapted reward directory"""
REFERENCE_TASK = "demo"
"""task key of the demo's reference in the fine-tuned base model"""
MIXES = ("geometric", "linear")
"""how an adapted reward's progress combines the demo-fitted heads with the fine-tuned base (``BaseTuneConfig.mix``)"""
MIX_FLOOR = 1e-4
"""progress floor inside the geometric mix, so that one part's exact 0 does not erase the other"""


@dataclass
class BaseTuneConfig:
    """Fine-tuning of the base hop model on one demo."""

    steps: int = 150
    """optimisation steps (0 = keep the base weights, only swap in the demo's reference frames)"""
    batch_size: int = 64
    lr: float = 3e-4
    """AdamW learning rate (constant; the base is already trained)"""
    weight_decay: float = 1e-4
    done_weight: float = 0.5
    """weight of the 'task done' BCE next to the hop loss"""
    time_budget_s: float = 20.0
    """stop early when fine-tuning takes longer than this (busy machine); the steps done are kept"""
    head_weight: float = 0.2
    """weight ``w`` of the demo-fitted heads against the fine-tuned base in ``mix``. The heads fit the demo closely
    but are per-frame regressors on one domain; the base measures relative motion against reference frames and was
    trained on many episodes, so their errors are weakly correlated and the mix beats either part. The more weight
    on the base, the better the curves' order and the worse successes and failures separate at the end (the base
    alone: VOC 0.929, AUROC 0.948 over the six runs of ``mix``'s figures). With the linear mix, 0.4 kept AUROC >= 0.95
    on every seed and set (the default until 2026-12-03); with the geometric mix, 0.2 does, at +0.017 VOC: the
    heads still veto a failed ending at a fifth of the weight. Geometric 0.15 / 0.25: 0.924 / -0.878 / 0.983 and
    0.916 / -0.873 / 0.985, so the choice is not knife-edge."""
    num_references: int = 5
    """references the fine-tuned base scores against, averaged: the demo's start and goal, then those of its
    domain-jittered copies (at most the copies embedded). Five instead of one, same episodes and seed-0 base:
    VOC / reversed / AUROC 0.891 / -0.850 / 0.992 -> 0.900 / -0.859 / 1.000 (head weight 0.5), 0.905 / -0.853 /
    0.976 -> 0.915 / -0.861 / 0.984 (0.3); one hop-model call per reference and frame"""
    mix: str = "geometric"
    """how progress combines the two parts: "geometric" ``h**w * b**(1 - w)`` or "linear" ``w * h + (1 - w) * b``
    (``w = head_weight``; see :meth:`BasePart.combine`). The geometric mean acts as a soft AND: a frame is far along
    only when both parts say so, so the base can carry the curve's order while the heads still hold a failed
    ending down. Leave-one-task-out (three base seeds x two test sets, 5 successes / 5 failures / 5 reversed per
    task; VOC / reversed VOC / AUROC, mean and worst of the six): linear 0.4 0.903 / -0.867 / 0.988 (worst 0.886 /
    -0.857 / 0.984), geometric 0.2 0.920 / -0.875 / 0.985 (worst 0.910 / -0.862 / 0.976); linear 0.2 0.922 /
    -0.878 / 0.977 but AUROC 0.968 on one seed"""
    familiar_similarity: float = 0.63
    """a demo view goes to the base only when the base knows that camera: the cosine similarity of the demo's first
    frame to the nearest start frame the base stores for its (mapped) view is at least this. Randomised sim demos
    (leave-one-task-out bases) from the base's own cameras score 0.72-0.89, cameras the base never saw (``close``
    and ``top`` mapped onto ``front`` and ``side``) 0.39-0.54; the line sits half-way. Given every view, the base
    drags such a demo's reward down (benchmarks/bench_adapt.py --views close top wrist, seed-0 bases: 0.858 /
    -0.858 / 0.944 with the linear mix, 0.836 / -0.788 / 0.952 geometric); given only the hand camera it knows,
    0.898 / -0.879 / 0.976. Without a familiar view the base is not used (heads only); -1 = every mapped view goes
    to the base"""

    def __post_init__(self) -> None:
        if self.mix not in MIXES:
            raise ValueError(f"base_tune.mix must be one of {MIXES}, got {self.mix!r}")
        if (self.steps < 0 or self.batch_size < 1 or not self.lr > 0 or self.time_budget_s <= 0
                or self.num_references < 1):
            raise ValueError(
                f"base tuning needs steps >= 0, batch_size >= 1, lr > 0, time_budget_s > 0, num_references >= 1; got "
                f"{self.steps}, {self.batch_size}, {self.lr}, {self.time_budget_s}, {self.num_references}"
            )
        if not 0.0 <= self.head_weight <= 1.0:
            raise ValueError(f"head_weight must be in [0, 1], got {self.head_weight}")
        if not -1.0 <= self.familiar_similarity <= 1.0:
            raise ValueError(f"familiar_similarity is a cosine similarity in [-1, 1], got {self.familiar_similarity}")


@dataclass
class BasePart:
    """The fine-tuned base model of an adapted reward: scorer, the references it scores against, and the view map."""

    scorer: ProgressScorer
    references: list[Reference]
    """the demo's start/goal first, then those of jittered copies; scores are averaged over them"""
    view_map: dict[str, str]
    """adapted (demo) view -> base-model view"""
    head_weight: float
    meta: dict[str, Any]
    """the base directory's backbone / text-encoder configs and training info (kept when saving)"""
    mix: str = "linear"
    """``BaseTuneConfig.mix`` the reward was adapted with ("linear" for directories written before it existed)"""

    def combine(self, heads: ProgressOutput, progress: np.ndarray | torch.Tensor,
                success_prob: np.ndarray | torch.Tensor) -> ProgressOutput:
        """The adapted reward's output from the heads' and this base's (N,) progress and success probability.

        Progress: ``h**w * b**(1 - w)`` ("geometric", each floored at MIX_FLOOR) or ``w * h + (1 - w) * b``
        ("linear"), ``w = head_weight``. Success probability: always the linear mix (a weighted geometric mean of
        two probabilities is no longer calibrated). Uncertainty: the heads' spread plus half the two progress
        estimates' distance.
        """
        w = self.head_weight
        p_b = torch.as_tensor(np.asarray(progress, np.float32)).reshape(-1)
        s_b = torch.as_tensor(np.asarray(success_prob, np.float32)).reshape(-1)
        p_h = heads.progress.float().cpu()
        if self.mix == "geometric":
            prog = p_h.clamp_min(MIX_FLOOR) ** w * p_b.clamp_min(MIX_FLOOR) ** (1 - w)
        else:
            prog = w * p_h + (1 - w) * p_b
        succ = w * heads.success_prob.float().cpu() + (1 - w) * s_b
        return ProgressOutput(prog.clamp(0, 1), succ.clamp(0, 1), heads.uncertainty + 0.5 * (p_h - p_b).abs())

    def score(self, embeddings: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """embeddings: adapted view -> (T, D) of one episode, frame 0 first.  Returns (T,) progress, success."""
        emb = {self.view_map[v]: np.asarray(e, np.float32) for v, e in embeddings.items() if v in self.view_map}
        if not emb:
            raise ValueError(f"none of the views {list(embeddings)} maps onto the base model (map {self.view_map})")
        out = self.scorer.score_embeddings(emb, self.references, use_text=False)
        return out.progress, out.success_prob


def load_base(path: str | Path) -> tuple[Any, dict[str, Any]]:
    """Load a ``robo-reward train-reward`` model directory without building its backbone.

    Returns:
        (RewardPipeline, its config.json as a dict).

    Raises:
        InputError: the path is not a trained reward-model directory (one line, says what was expected).
    """
    import json

    from robo_reward.reward.checkpoint import FORMAT
    from robo_reward.reward.pipeline import load_reward_model

    d = Path(path)
    hint = "give the model directory written by `robo-reward train-reward` (<out_dir>/model)"
    if not d.is_dir():
        raise InputError(f"--base {d}: no such directory; {hint}")
    cfg_path = d / "config.json"
    if not cfg_path.is_file():
        raise InputError(f"--base {d}: no config.json, not a reward-model directory; {hint}")
    try:
        cfg = json.loads(cfg_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"--base {cfg_path}: unreadable config ({exc}); {hint}") from exc
    if cfg.get("format") != FORMAT:
        raise InputError(f"--base {d}: format {cfg.get('format')!r} is not a trained base model ({FORMAT!r}); {hint}")
    if "backbone" not in cfg:
        raise InputError(f"--base {d}: config.json records no backbone, so the demo cannot be embedded like its "
                         "training data; retrain it with `robo-reward train-reward`")
    try:
        pipe = load_reward_model(d, device="cpu", load_backbone=False)
    except Exception as exc:  # missing/corrupt weight files raise several types
        raise InputError(f"--base {d}: cannot load the model ({' '.join(str(exc).split())}); {hint}") from exc
    return pipe, cfg


def map_views(demo_views: Sequence[str], base_views: Sequence[str]) -> dict[str, str]:
    """Demo view -> base view: same names first, the others by position onto the base's unused views.

    Demo views left over when the base has fewer views are not given to the base model (the demo-fitted heads
    still use them).
    """
    out = {v: v for v in demo_views if v in base_views}
    free = [b for b in base_views if b not in out.values()]
    for v in demo_views:
        if v not in out and free:
            out[v] = free.pop(0)
    return out


def view_familiarity(first_frames: Mapping[str, np.ndarray], view_map: Mapping[str, str],
                     references: Sequence[Reference]) -> dict[str, float]:
    """How well the base knows each demo camera: demo view -> the highest cosine similarity of its first-frame
    embedding (D,) to the start embeddings the base stores for the mapped base view (-1 where it stores none).

    Every episode of the sim suite starts from the arm's home pose, so a camera the base was trained on sees a
    start much like the stored ones whatever the task, colours or lighting; another viewpoint does not.
    """
    out = {}
    for v, e in first_frames.items():
        b = view_map.get(v)
        starts = [r.start[b] for r in references if b is not None and b in r.start]
        if not starts:
            out[v] = -1.0
            continue
        x = np.asarray(e, np.float64)
        s = np.stack(starts).astype(np.float64)
        sims = s @ x / (np.linalg.norm(s, axis=1) * np.linalg.norm(x) + 1e-12)
        out[v] = float(sims.max())
    return out


def _scatter(batch: Batch, sub: Sequence[int], num_views: int) -> Batch:
    """A batch drawn over a subset of the model's views, expanded to all ``num_views`` (others masked)."""

    def widen(x: np.ndarray) -> np.ndarray:
        out = np.zeros((x.shape[0], num_views, x.shape[2]), x.dtype)
        out[:, list(sub)] = x
        return out

    mask = np.zeros((len(batch), num_views), bool)
    mask[:, list(sub)] = batch.view_mask
    return Batch(widen(batch.before), widen(batch.after), widen(batch.start), widen(batch.goal), batch.goal_mask,
                 mask, batch.text, batch.text_mask, batch.hop, batch.done, batch.kind, batch.engaged,
                 batch.engaged_mask)


def finetune_base(
    model: HopModel,
    embeddings: Mapping[str, np.ndarray],
    labels: np.ndarray,
    view_map: Mapping[str, str],
    cfg: BaseTuneConfig,
    seed: int = 0,
) -> dict[str, float]:
    """Fine-tune ``model`` in place on hop queries from one demo.

    Args:
        model: the base hop model (left in eval mode).
        embeddings: demo view -> (C, T, D); copy 0 is the original footage, the others domain-jittered.
        labels: (T,) progress labels of the demo in [0, 1].
        view_map: demo view -> base view (views not in it are not used).
    Returns:
        training figures (steps done, seconds, mean loss of the first and last 20 steps).
    """
    used = [v for v in embeddings if v in view_map]
    base_order = [b for b in model.views if b in {view_map[v] for v in used}]
    by_base = {view_map[v]: v for v in used}
    copies = next(iter(embeddings.values())).shape[0]
    episodes = [
        EmbeddedEpisode(f"demo/copy{c}", REFERENCE_TASK, "", "success",
                        {b: np.asarray(embeddings[by_base[b]][c], np.float32) for b in base_order}, labels.astype(np.float32))
        for c in range(copies)
    ]
    texts = {REFERENCE_TASK: np.zeros(model.text_dim, np.float32)}
    # text_dropout 1.0: the task text is never shown (adaptation does not load a text encoder); the base was
    # trained with text dropout, so its NO-TEXT path is a trained one.
    sampler = PairSampler(episodes, base_order, texts, view_dropout=model.cfg.view_dropout, text_dropout=1.0,
                          goal_dropout=model.cfg.goal_dropout)
    sub = [model.views.index(b) for b in base_order]
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    losses: list[float] = []
    t0 = time.perf_counter()
    model.train()
    step = 0
    for step in range(1, cfg.steps + 1):
        t = batch_to_torch(_scatter(sampler.sample(cfg.batch_size, rng), sub, len(model.views)), torch.device("cpu"))
        loss, _ = hop_loss(model, t, cfg.done_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(float(loss.item()))
        if time.perf_counter() - t0 > cfg.time_budget_s:
            logger.warning("base fine-tuning stopped after %d of %d steps (time budget %.0f s)", step, cfg.steps, cfg.time_budget_s)
            break
    model.eval()
    figures = {"steps": float(step if cfg.steps else 0), "seconds": time.perf_counter() - t0}
    if losses:
        figures.update(loss_first=float(np.mean(losses[:20])), loss_last=float(np.mean(losses[-20:])))
    logger.info("base fine-tune: %s", {k: round(v, 4) for k, v in figures.items()})
    return figures


def demo_references(embeddings: Mapping[str, np.ndarray], view_map: Mapping[str, str], count: int = 1,
                    width: int = 1) -> list[Reference]:
    """The demo's start and goal (mean of the first / last ``width + 1`` frames) as base references: the original
    footage first, then its jittered copies, ``count`` in all (fewer when fewer copies were embedded).

    embeddings: demo view -> (C, T, D) (copy 0 = original) or (T, D).
    """
    arrays = {view_map[v]: np.asarray(e, np.float32) for v, e in embeddings.items() if v in view_map}
    arrays = {b: (x if x.ndim == 3 else x[None]) for b, x in arrays.items()}
    copies = min(x.shape[0] for x in arrays.values())
    refs = []
    for c in range(min(count, copies)):
        start = {b: x[c, : width + 1].mean(0) for b, x in arrays.items()}
        goal = {b: x[c, -(width + 1):].mean(0) for b, x in arrays.items()}
        refs.append(Reference(REFERENCE_TASK, "", start, goal, None, "demo" if c == 0 else f"demo/copy{c}"))
    return refs


def save_base_part(directory: Path, part: BasePart) -> Path:
    """Write the fine-tuned base as a reward-model directory ``directory`` (readable by load_reward_model)."""
    from robo_reward.reward.checkpoint import save_reward_model

    return save_reward_model(directory, part.scorer.model, {REFERENCE_TASK: part.references[0]},
                             part.scorer.success_temperature, part.meta,
                             extra_references={REFERENCE_TASK: part.references[1:]})


def load_base_part(directory: Path, view_map: dict[str, str], head_weight: float, mix: str = "linear") -> BasePart:
    """Read the fine-tuned base written by :func:`save_base_part`."""
    from robo_reward.reward.checkpoint import load_model_and_references

    model, refs, cfg = load_model_and_references(directory, "cpu")
    if REFERENCE_TASK not in refs:
        raise InputError(f"{directory}: the fine-tuned base model has no {REFERENCE_TASK!r} reference; re-run `robo-reward adapt`")
    meta = {k: v for k, v in cfg.items() if k in ("backbone", "backbone_identity", "text_encoder", "outcome_thresholds", "train")}
    return BasePart(ProgressScorer(model, cfg.get("success_temperature", 1.0), "cpu"), refs[REFERENCE_TASK],
                    dict(view_map), head_weight, meta, mix)
