"""Synthetic episodes in embedding space, for tests and benchmarks (no simulator, no backbone).

A task is a chain of ``M + 1`` anchor points in a latent space; an episode walks along the chain (one stage per
segment) with an episode-specific offset (object placement) and per-frame noise, and every view sees the latent
through its own fixed random linear map plus its own noise (so fusing views averages noise away). Failed episodes
stall inside a stage (optionally after dropping back a stage); partial ones stop after completing some stages.
Stage spans are emitted like the recorder's, and labels come from the same code path as real data.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from robo_reward.reward.data import EmbeddedEpisode, frame_stages, label_episode_stages, task_stage_stats

logger = logging.getLogger(__name__)


@dataclass
class SyntheticSpec:
    """Knobs of the synthetic generator."""

    num_stages: int = 3
    latent_dim: int = 16
    embed_dim: int = 32
    text_dim: int = 24
    views: tuple[str, ...] = ("front", "side", "wrist")
    stage_len: tuple[int, int] = (6, 12)
    hold_len: int = 3
    frame_noise: float = 0.05
    view_noise: tuple[float, ...] = (0.15, 0.25, 0.35)
    offset_noise: float = 0.1
    world_seed: int = 0
    """fixes the tasks' anchors and the cameras (episodes vary with the ``seed`` argument)"""


def _task_params(task: str, spec: SyntheticSpec) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    rng = np.random.default_rng([zlib.crc32(task.encode()), spec.world_seed])
    anchors = np.cumsum(rng.normal(size=(spec.num_stages + 1, spec.latent_dim)), axis=0)
    view_rng = np.random.default_rng(spec.world_seed)  # views share maps across tasks (same cameras)
    maps = [view_rng.normal(size=(spec.latent_dim, spec.embed_dim)) / np.sqrt(spec.latent_dim) for _ in spec.views]
    text = rng.normal(size=spec.text_dim).astype(np.float32)
    return anchors, maps, text


def make_synthetic_episodes(
    tasks: Sequence[str] = ("task_a",),
    per_task: dict[str, int] | None = None,
    spec: SyntheticSpec | None = None,
    seed: int = 0,
) -> tuple[list[EmbeddedEpisode], dict[str, np.ndarray]]:
    """Generate labelled episodes and task text embeddings.

    Args:
        tasks: task names.
        per_task: outcome -> count per task (default 8 success, 3 partial, 3 failure).
        spec: generator knobs.
        seed: controls everything.

    Returns:
        (episodes, texts): episodes with ``emb`` view -> (T, embed_dim); texts task -> (text_dim,).
    """
    spec = spec or SyntheticSpec()
    counts = per_task or {"success": 8, "partial": 3, "failure": 3}
    rng = np.random.default_rng(seed)
    names = [f"stage{k}" for k in range(spec.num_stages)]
    raw = []
    texts = {}
    for task in tasks:
        anchors, maps, text = _task_params(task, spec)
        texts[task] = text
        for outcome, n in counts.items():
            for i in range(n):
                raw.append((task, outcome, i, *_one(rng, anchors, maps, spec, outcome, names)))
    stats = task_stage_stats([(t, o, st) for t, o, _, st, _ in raw])
    episodes = []
    for task, outcome, i, stages, emb in raw:
        order, typical = stats[task]
        t = next(iter(emb.values())).shape[0]
        labels = label_episode_stages(stages, t, outcome == "success", order, typical)
        episodes.append(EmbeddedEpisode(f"{task}/{outcome}_{i:03d}", task, f"do {task}", outcome, emb, labels,
                                        stage=frame_stages(stages, t, order)))
    return episodes, texts


def _one(rng, anchors, maps, spec, outcome, names):  # type: ignore[no-untyped-def]
    m = spec.num_stages
    if outcome == "success":
        reached, drop = m, False
    elif outcome == "partial":
        reached, drop = int(rng.integers(1, m)), False
    else:
        reached = int(rng.integers(0, m))
        drop = reached > 0 and rng.random() < 0.5
    lat: list[float] = []  # latent progress per frame (in stage units)
    stages = []
    f = 0
    for k in range(reached):
        n = int(rng.integers(*spec.stage_len))
        lat += list(k + (np.arange(n) + (0 if k == 0 else 1)) / (n - (1 if k == 0 else 0)))
        stages.append((names[k], f, f + n - 1))
        f += n
    if outcome == "success":
        lat += [float(m)] * spec.hold_len  # holding at the goal after the last stage: labelled 1
    else:
        attempts = [reached] + ([reached - 1] if drop else [])  # a drop falls back one stage and retries
        for k in attempts:
            n = int(rng.integers(*spec.stage_len))
            lat += list(k + np.minimum(np.arange(n) / spec.stage_len[1], 0.45))
            stages.append((names[min(k, m - 1)], f, f + n - 1))
            f += n
    lat_arr = np.asarray(lat)
    seg = np.clip(np.floor(lat_arr).astype(int), 0, m - 1)
    frac = (lat_arr - seg)[:, None]
    z = anchors[seg] * (1 - frac) + anchors[seg + 1] * frac
    z = z + rng.normal(scale=spec.offset_noise, size=(1, spec.latent_dim))
    z = z + rng.normal(scale=spec.frame_noise, size=z.shape)
    emb = {}
    for v, (view, w) in enumerate(zip(spec.views, maps)):
        noise = spec.view_noise[v % len(spec.view_noise)]
        emb[view] = (z @ w + rng.normal(scale=noise, size=(z.shape[0], w.shape[1]))).astype(np.float32)
    return stages, emb
