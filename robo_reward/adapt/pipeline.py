"""``robo-reward adapt`` and ``robo-reward score`` as typed configs plus ``run_*`` functions (no argparse here).

adapt: demo video(s) -> frozen embeddings (+ domain-jittered copies) -> stages (given or discovered) ->
stage-based progress labels -> per-view heads [+ the base hop model fine-tuned on the demo, with ``--base``] ->
reward directory.
score: reward directory + episode video(s) -> per-frame progress / success probability -> JSON.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from robo_reward.data.atomic import atomic_write_json
from robo_reward.adapt.augment import DomainJitter
from robo_reward.adapt.base import (BasePart, BaseTuneConfig, demo_references, finetune_base, load_base, map_views,
                                     view_familiarity)
from robo_reward.adapt.demo_video import VideoEpisode, list_view_files, load_video_episode
from robo_reward.adapt.embed import FrameEncoder, build_encoder, embed_episode
from robo_reward.adapt.errors import InputError
from robo_reward.adapt.fit import fit_adapted_reward, reference_frames
from robo_reward.adapt.model import HeadConfig
from robo_reward.adapt.reward_dir import RewardBundle, load_reward_dir, save_reward_dir
from robo_reward.adapt.segment import discover_stages, load_keyframes, progress_labels
from robo_reward.backbones.base import BackboneConfig

logger = logging.getLogger(__name__)


def default_backbone() -> BackboneConfig:
    """EfficientNet-Lite0 (packaged ImageNet weights) at 128 px: ~4x cheaper than 224 px on CPU."""
    return BackboneConfig(name="efficientnet_lite0", image_size=128, device="auto")  # type: ignore[arg-type]


@dataclass
class AdaptConfig:
    """``robo-reward adapt``: a dense reward model from one demonstration video."""

    demo: str = ""
    """episode directory (one video per camera view, file stem = view name) or a single video file"""
    task: str = ""
    """task text, e.g. 'put the red block in the bowl'"""
    out: str = ""
    """directory to write the reward model to"""
    keyframes: str | None = None
    """JSON [{stage, start_frame, end_frame}, ...]; None = discover the stages from the video"""
    base: str | None = None
    """base reward-model directory (``robo-reward train-reward`` output) to start from; its backbone is used"""
    seed: int = 0
    backbone: BackboneConfig = field(default_factory=default_backbone)
    """backbone without --base (with --base, the base model's backbone is used)"""
    head: HeadConfig = field(default_factory=HeadConfig)
    base_tune: BaseTuneConfig = field(default_factory=BaseTuneConfig)
    augment_copies: int = 4
    """domain-jittered copies of each demo view embedded next to the original (colours, lighting, camera); 4 rather
    than 2 raised the leave-one-task-out reversed VOC of the combined model from -0.74 to -0.80 (benchmarks/bench_adapt.py)"""
    augment_frame_budget: int = 900
    """long demos get fewer copies (at least 1) so that (1 + copies) x frames x views stays within this many
    embedded frames: embedding and head fitting dominate the adapt time (150 frames x 2 views -> 2 copies)"""
    jitter: DomainJitter = field(default_factory=DomainJitter)
    """strength of the domain jitter of those copies"""
    max_frames: int = 300
    """demos longer than this are subsampled uniformly before embedding"""
    max_stages: int = 8
    stage_penalty: float = 0.7
    """penalty per extra discovered stage on the log residual (higher -> fewer stages)"""
    length_tolerance: int = 3
    """views may differ by this many frames (cut to the shortest); more is an error"""

    def __post_init__(self) -> None:
        missing = [n for n in ("demo", "task", "out") if not str(getattr(self, n)).strip()]
        if missing:
            raise InputError(f"missing {', '.join(missing)}: give --demo EPISODE --task TEXT --out DIR")
        if (self.augment_copies < 0 or self.augment_frame_budget < 1 or self.max_frames < 2 or self.max_stages < 1
                or self.stage_penalty < 0):
            raise InputError(
                "need augment_copies >= 0, augment_frame_budget >= 1, max_frames >= 2, max_stages >= 1, stage_penalty >= 0; "
                f"got {self.augment_copies}, {self.augment_frame_budget}, {self.max_frames}, {self.max_stages}, {self.stage_penalty}"
            )


@dataclass
class ScoreConfig:
    """``robo-reward score``: per-frame progress of an episode under an adapted reward model."""

    reward: str = ""
    """directory written by ``robo-reward adapt``"""
    episode: str = ""
    """episode directory (one video per view) or a single video file"""
    out: str = ""
    """JSON file to write"""
    task: str | None = None
    """task text; optional (the reward directory knows its task), checked against it when given"""
    max_frames: int = 150
    """score at most this many frames (uniformly spaced, always including the first and last); others are
    interpolated and ``frame_index`` lists the scored ones"""
    length_tolerance: int = 3

    def __post_init__(self) -> None:
        missing = [n for n in ("reward", "episode", "out") if not str(getattr(self, n)).strip()]
        if missing:
            raise InputError(f"missing {', '.join(missing)}: give --reward DIR --episode EPISODE --out FILE.json")
        if self.task is not None and not self.task.strip():
            raise InputError("--task is empty; give the task text or leave the flag out")
        if self.max_frames < 2:
            raise InputError(f"max_frames must be >= 2, got {self.max_frames}")


def subsample_index(num_frames: int, max_frames: int) -> np.ndarray:
    """Uniformly spaced frame indices, first and last included.  -> (min(T, max_frames),) int64."""
    if num_frames <= max_frames:
        return np.arange(num_frames)
    return np.unique(np.round(np.linspace(0, num_frames - 1, max_frames)).astype(np.int64))


def copies_within_budget(copies: int, frame_budget: int, frames_per_copy: int) -> int:
    """Jittered copies to embed: ``copies``, fewer when ``(1 + copies) * frames_per_copy`` exceeds the budget (min 1)."""
    if copies <= 0:
        return 0
    return int(min(copies, max(1, frame_budget // max(frames_per_copy, 1) - 1)))


def _spearman(x: np.ndarray) -> float:
    if len(x) < 3 or np.ptp(x) == 0:
        return 0.0
    from scipy.stats import spearmanr  # local: scipy.stats costs ~0.9 s of import, and `score` never needs it

    return float(spearmanr(np.arange(len(x)), x).statistic)


def _build_encoder(spec: dict[str, Any]) -> FrameEncoder:
    return build_encoder(spec)


def run_adapt(cfg: AdaptConfig, encoder: FrameEncoder | None = None) -> dict[str, Any]:
    """Adapt a reward model to ``cfg.demo`` and write it to ``cfg.out``; returns a summary (stages, timing, fit)."""
    t0 = time.perf_counter()
    base_pipe, base_cfg = load_base(cfg.base) if cfg.base is not None else (None, {})
    demo = load_video_episode(cfg.demo, length_tolerance=cfg.length_tolerance)
    t_len = demo.num_frames
    if t_len < 2:
        raise InputError(f"{cfg.demo}: the demo has {t_len} frame(s); need at least 2 (start and goal)")
    stages = load_keyframes(cfg.keyframes, t_len) if cfg.keyframes else None
    idx = subsample_index(t_len, cfg.max_frames)
    frames = {v: f[idx] for v, f in demo.frames.items()}
    t_load = time.perf_counter()

    backbone_spec = dataclasses.asdict(cfg.backbone)
    if base_pipe is not None:  # the base model only understands embeddings of the backbone it was trained on
        backbone_spec = {**base_cfg["backbone"], "device": backbone_spec["device"]}
    enc = encoder if encoder is not None else _build_encoder(backbone_spec)
    if base_pipe is not None and base_cfg.get("backbone_identity") not in (None, enc.identity):
        raise InputError(
            f"--base {cfg.base}: trained on backbone {base_cfg['backbone_identity']} but this machine builds "
            f"{enc.identity} from its config; retrain the base here"
        )
    copies = copies_within_budget(cfg.augment_copies, cfg.augment_frame_budget, len(idx) * len(frames))
    emb = embed_episode(enc, frames, copies=copies, jitter=cfg.jitter, seed=cfg.seed, desc="embedding demo")
    t_embed = time.perf_counter()

    if stages is None:
        joint = np.concatenate([e[0] / max(float(np.linalg.norm(e[0], axis=1).mean()), 1e-8) for e in emb.values()], axis=1)
        sub_stages = discover_stages(joint, max_segments=cfg.max_stages, penalty=cfg.stage_penalty)
        stages = [type(s)(s.stage, int(idx[s.start_frame]), int(idx[s.end_frame])) for s in sub_stages]
        for a, b in zip(stages, stages[1:]):  # contiguous in original frames too
            a.end_frame = b.start_frame - 1
        stages[-1].end_frame = t_len - 1
    labels = progress_labels(stages, t_len)[idx]
    sub_stages_for_refs = [type(s)(s.stage, int(np.searchsorted(idx, s.start_frame)), int(min(np.searchsorted(idx, s.end_frame), len(idx) - 1))) for s in stages]
    model, fit_figures = fit_adapted_reward(emb, labels, sub_stages_for_refs, cfg.head, seed=cfg.seed)
    t_fit = time.perf_counter()
    base_part, base_info = None, {}
    if base_pipe is not None:
        base_part, base_info = _adapt_base(base_pipe, emb, labels, cfg, str(cfg.base))
    t_base = time.perf_counter()

    refs = reference_frames(sub_stages_for_refs, len(idx))
    bundle = RewardBundle(
        model=model,
        task=cfg.task.strip(),
        backbone=backbone_spec,
        backbone_identity=enc.identity,
        stages=stages,
        demo_embeddings={v: e[0] for v, e in emb.items()},
        demo_labels=labels,
        base=base_part,
        info={
            "demo": str(demo.source),
            "demo_views": list(demo.views),
            "demo_num_frames": t_len,
            "demo_frame_index": idx.tolist(),
            "fps": demo.fps,
            "seed": cfg.seed,
            "stages_source": "keyframes" if cfg.keyframes else "discovered",
            "augment_copies": copies,
            "fit": fit_figures,
            **({"base": base_info} if base_info else {}),
        },
    )
    bundle.info["in_sample_voc"] = _spearman(bundle.score({v: e[0] for v, e in emb.items()}).progress.numpy())
    ref_images = {v: {int(idx[r]): f[r] for r in refs} for v, f in frames.items()}
    timing = {"load_s": t_load - t0, "embed_s": t_embed - t_load, "fit_s": t_fit - t_embed, "base_s": t_base - t_fit}
    bundle.info["timing"] = timing
    try:
        save_reward_dir(cfg.out, bundle, ref_images)
    except OSError as exc:
        raise InputError(f"{cfg.out}: cannot write the reward directory ({exc})") from exc
    t_end = time.perf_counter()
    timing = {**timing, "write_s": t_end - t_base, "total_s": t_end - t0}
    return {
        "out": str(cfg.out),
        "views": list(demo.views),
        "num_frames": t_len,
        "stages": [dataclasses.asdict(s) for s in stages],
        "in_sample_voc": bundle.info["in_sample_voc"],
        "base": base_info or None,
        "timing": timing,
    }


def _adapt_base(base_pipe: Any, emb: dict[str, np.ndarray], labels: np.ndarray, cfg: AdaptConfig,
                source: str) -> tuple[BasePart | None, dict[str, Any]]:
    """Fine-tune a copy of the base hop model on the demo's views the base knows; the demo's start/goal become its
    reference. (None, info) when the base knows none of the demo's cameras (the heads alone are the reward)."""
    import copy

    from robo_reward.reward.scoring import ProgressScorer

    model = copy.deepcopy(base_pipe.scorer.model).cpu()
    mapped = map_views(list(emb), list(model.views))
    stored = [r for t, main in base_pipe.references.items() for r in (main, *base_pipe.extra_references.get(t, []))]
    familiarity = view_familiarity({v: e[0, 0] for v, e in emb.items() if v in mapped}, mapped, stored)
    view_map = {v: b for v, b in mapped.items() if familiarity[v] >= cfg.base_tune.familiar_similarity}
    unknown = sorted(set(mapped) - set(view_map))
    if unknown:
        logger.warning("base %s does not know the camera(s) %s (first-frame similarity %s < %.2f): %s",
                       source, unknown, {v: round(familiarity[v], 3) for v in unknown}, cfg.base_tune.familiar_similarity,
                       "the base scores the other views" if view_map else "the base is not used, the heads alone score")
    info: dict[str, Any] = {"source": source, "view_familiarity": familiarity, "unfamiliar_views": unknown}
    if not view_map:
        return None, info
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny transformer on batches of 64: one thread is as fast and spares a busy CPU
    try:
        figures = finetune_base(model, emb, labels, view_map, cfg.base_tune, seed=cfg.seed)
    finally:
        torch.set_num_threads(threads)
    part = BasePart(ProgressScorer(model, base_pipe.scorer.success_temperature, "cpu"),
                    demo_references(emb, view_map, cfg.base_tune.num_references),
                    view_map, cfg.base_tune.head_weight, dict(base_pipe.meta), cfg.base_tune.mix)
    info.update(view_map=view_map, base_views=list(model.views), tune=figures, trained_tasks=list(base_pipe.tasks))
    logger.info("base %s: views %s, fine-tuned %s", source, view_map, figures)
    return part, info


def match_views(model_views: list[str], episode_views: list[str]) -> dict[str, str]:
    """Episode view -> model view.  Same names first; one unnamed-match view each side maps onto each other.

    Raises:
        InputError: no episode view matches a model view.
    """
    common = {v: v for v in episode_views if v in model_views}
    if common:
        return common
    if len(model_views) == 1 and len(episode_views) == 1:
        return {episode_views[0]: model_views[0]}
    raise InputError(
        f"unknown view set: the episode has views {sorted(episode_views)} but the reward model knows {model_views}; "
        "name the episode's video files after the model's views"
    )


def score_bundle(bundle: RewardBundle, episode: VideoEpisode, encoder: FrameEncoder, max_frames: int) -> dict[str, Any]:
    """Progress of every frame of ``episode`` (scored frames + linear interpolation).  Returns the JSON payload."""
    t0 = time.perf_counter()
    view_map = match_views(bundle.views, list(episode.views))
    t_len = episode.num_frames
    idx = subsample_index(t_len, max_frames)
    emb = embed_episode(encoder, {v: episode.frames[v][idx] for v in view_map}, desc="embedding episode")
    t_embed = time.perf_counter()
    out = bundle.score({view_map[v]: e[0] for v, e in emb.items()})
    t_head = time.perf_counter()
    grid = np.arange(t_len)
    prog = np.clip(np.interp(grid, idx, out.progress.numpy()), 0.0, 1.0)
    succ = np.clip(np.interp(grid, idx, out.success_prob.numpy()), 0.0, 1.0)
    unc = np.interp(grid, idx, out.uncertainty.numpy())
    n_st = len(bundle.stages)
    stage_of = [bundle.stages[min(n_st - 1, int(p * n_st))].stage for p in prog]
    return {
        "num_frames": t_len,
        "frame_index": idx.tolist(),
        "progress": prog.tolist(),
        "success_prob": succ.tolist(),
        "uncertainty": unc.tolist(),
        "stage": stage_of,
        "views": list(view_map),
        "view_map": view_map,
        "timing": {"embed_s": t_embed - t0, "head_s": t_head - t_embed},
    }


def _write_json(path: Path, obj: Any) -> None:
    atomic_write_json(path, obj)


def run_score(cfg: ScoreConfig, encoder: FrameEncoder | None = None) -> dict[str, Any]:
    """Score ``cfg.episode`` with the reward in ``cfg.reward`` and write ``cfg.out``; returns the payload."""
    t0 = time.perf_counter()
    bundle = load_reward_dir(cfg.reward)
    files = list_view_files(cfg.episode)
    view_map = match_views(bundle.views, list(files))
    episode = load_video_episode(cfg.episode, views=list(view_map), length_tolerance=cfg.length_tolerance)
    if cfg.task is not None and cfg.task.strip().casefold() != bundle.task.casefold():
        logger.warning("--task %r differs from the task this reward was adapted to (%r); scoring with the latter", cfg.task, bundle.task)
    t_load = time.perf_counter()
    enc = encoder if encoder is not None else _build_encoder(bundle.backbone)
    if enc.identity != bundle.backbone_identity:
        raise InputError(
            f"{cfg.reward}: adapted with backbone {bundle.backbone_identity} but this machine builds {enc.identity}; "
            "re-run `robo-reward adapt` here"
        )
    t_build = time.perf_counter()
    result = score_bundle(bundle, episode, enc, cfg.max_frames)
    payload = {
        "reward": str(cfg.reward),
        "episode": str(cfg.episode),
        "task": bundle.task,
        "task_given": cfg.task,
        "fps": episode.fps,
        **result,
    }
    payload["timing"] = {"load_s": t_load - t0, "backbone_s": t_build - t_load, **result["timing"]}
    payload["timing"]["total_s"] = time.perf_counter() - t0
    try:
        _write_json(Path(cfg.out), payload)
    except OSError as exc:
        raise InputError(f"{cfg.out}: cannot write the scores ({exc})") from exc
    return payload
