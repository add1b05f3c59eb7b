"""Pixels in, progress out: backbone + text encoder + trained hop model + task references.

:class:`RewardPipeline` is what everything downstream uses (shaping, RL wrappers, the ROS 2 node, evaluation):
``score_episode`` for recorded episodes, ``streamer`` for N parallel environments
(:class:`robo_reward.types.BatchedProgressModel`), and ``score_embeddings`` when embeddings are already there.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from robo_reward.reward.checkpoint import load_model_and_references, save_reward_model as _save_files
from robo_reward.reward.data import Reference
from robo_reward.reward.scoring import EmbeddingStreamer, EpisodeScore, ProgressScorer
from robo_reward.types import MultiViewFrames, ProgressOutput

logger = logging.getLogger(__name__)


class RewardPipeline:
    """A trained process reward model ready to score frames.

    Args:
        scorer: the embedding-level scorer (hop model + calibration).
        references: task -> reference (start/goal embeddings per view, text embedding).
        backbone: frozen image encoder (``.encode``, ``.encode_frames``, ``.embed_dim``, ``.identity``); may be None
            for embedding-only use.
        text_encoder: ``.encode(list[str]) -> (N, T_d)``; needed only to add references for new tasks.
        meta: extra config (backbone / text-encoder configs, outcome thresholds) saved with the model.
        extra_references: task -> further reference demos of the task. Scoring and streaming average over the
            main reference and up to ``meta["num_references"] - 1`` of these, as evaluation does.
    """

    def __init__(
        self,
        scorer: ProgressScorer,
        references: Mapping[str, Reference],
        backbone: Any | None = None,
        text_encoder: Any | None = None,
        meta: dict[str, Any] | None = None,
        extra_references: Mapping[str, Sequence[Reference]] | None = None,
    ) -> None:
        self.scorer = scorer
        self.references: dict[str, Reference] = dict(references)
        self.extra_references: dict[str, list[Reference]] = {t: list(r) for t, r in (extra_references or {}).items()}
        self.backbone = backbone
        self.text_encoder = text_encoder
        self.meta = dict(meta or {})
        if backbone is not None and int(backbone.embed_dim) != scorer.model.embed_dim:
            raise ValueError(
                f"backbone embeds to {backbone.embed_dim} dims but the reward model expects {scorer.model.embed_dim}; "
                "use the backbone the model was trained with"
            )

    @property
    def views(self) -> tuple[str, ...]:
        return self.scorer.views

    @property
    def device(self) -> torch.device:
        return self.scorer.device

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(self.references)

    def reference(self, task: str | None) -> Reference:
        """The reference of ``task`` (None: the only task the model has)."""
        if task is None:
            if len(self.references) != 1:
                raise ValueError(f"this reward model knows tasks {list(self.references)}; pass task=...")
            return next(iter(self.references.values()))
        if task not in self.references:
            raise ValueError(
                f"unknown task {task!r}; known tasks: {list(self.references)}. Add one with "
                "add_reference(task, instruction, frames) from a successful demo"
            )
        return self.references[task]

    def reference_set(self, task: str | None, num_references: int | None = None) -> list[Reference]:
        """The references scoring averages over: the task's main reference, then its extra ones, up to
        ``num_references`` (default: ``meta["num_references"]``, the number evaluation used; 1 if unset)."""
        main = self.reference(task)
        k = int(num_references if num_references is not None else self.meta.get("num_references", 1))
        if k < 1:
            raise ValueError(f"num_references must be >= 1, got {k}")
        return [main, *self.extra_references.get(main.task, [])][:k]

    # ----------------------------------------------------------------- references
    def add_reference(self, task: str, instruction: str | None, frames: MultiViewFrames, with_goal: bool = True) -> Reference:
        """Register (or replace) a task's reference from a successful demo's frames (view -> (T, H, W, 3)).

        The first frame becomes the start, the last the goal; the instruction is embedded with the text encoder.
        """
        emb = self.encode_views(frames)
        return self.add_reference_embeddings(task, instruction, emb, with_goal)

    def add_reference_embeddings(self, task: str, instruction: str | None, emb: Mapping[str, np.ndarray],
                                 with_goal: bool = True) -> Reference:
        """Like :meth:`add_reference` from per-view (T, D) embeddings."""
        self.scorer.view_mask(list(emb))
        text = None
        if instruction is not None:
            if self.text_encoder is None:
                raise ValueError("no text encoder loaded: pass instruction=None or load the pipeline with one")
            text = self.text_encoder.encode([instruction])[0].detach().float().cpu().numpy()
        ref = Reference.from_embeddings(task, instruction or "", emb, text, "user", with_goal)
        self.references[task] = ref
        self.extra_references.pop(task, None)  # the old extra demos belonged to the replaced reference
        return ref

    # ----------------------------------------------------------------- scoring
    def encode_views(self, frames: MultiViewFrames) -> dict[str, np.ndarray]:
        """view -> (T, H, W, 3) uint8 -> view -> (T, D) float32 embeddings."""
        if self.backbone is None:
            raise ValueError("no backbone loaded: use score_embeddings, or load the pipeline with a backbone")
        self.scorer.view_mask(list(frames))
        out = {}
        for v, f in frames.items():
            if f.ndim != 4 or f.shape[-1] != 3:
                raise ValueError(f"frames[{v!r}] has shape {tuple(f.shape)}; expected (T, H, W, 3) uint8 RGB")
            if f.dtype not in (np.uint8, torch.uint8):
                raise ValueError(f"frames[{v!r}] has dtype {f.dtype}; expected uint8 RGB")
            out[v] = self.backbone.encode_frames(f)
        lens = {v: e.shape[0] for v, e in out.items()}
        if len(set(lens.values())) != 1:
            raise ValueError(f"views have different numbers of frames: {lens}")
        return out

    def score_episode(self, frames: MultiViewFrames, task: str | None = None, use_goal: bool = True) -> EpisodeScore:
        """Score a recorded episode: view -> (T, H, W, 3) uint8 (any subset of the model's views)."""
        return self.score_embeddings(self.encode_views(frames), task, use_goal=use_goal)

    def score_embeddings(self, emb: Mapping[str, np.ndarray], task: str | None = None, reference: Reference | None = None,
                         use_goal: bool = True, use_text: bool = True, num_references: int | None = None) -> EpisodeScore:
        """Score from per-view (T, D) embeddings; ``reference`` overrides the stored ones of ``task`` (see
        :meth:`reference_set`)."""
        ref = reference if reference is not None else self.reference_set(task, num_references)
        return self.scorer.score_embeddings(emb, ref, use_goal=use_goal, use_text=use_text)

    def streamer(self, num_envs: int, task: str | None = None, views: Sequence[str] | None = None,
                 use_goal: bool = True, fusion: str = "guarded", num_references: int | None = None) -> "StreamingProgress":
        """Streaming progress for ``num_envs`` environments (a :class:`robo_reward.types.BatchedProgressModel`);
        ``fusion`` as in :class:`~robo_reward.reward.scoring.EmbeddingStreamer` ("markov" for PBRS); averaged over
        :meth:`reference_set` like whole-episode scoring."""
        if self.backbone is None:
            raise ValueError("streaming from frames needs a backbone; load the pipeline with one")
        inner = self.scorer.streamer(num_envs, self.reference_set(task, num_references), views, use_goal=use_goal,
                                     fusion=fusion)
        return StreamingProgress(self.backbone, inner)

    # ----------------------------------------------------------------- persistence
    def save(self, directory: str | Path) -> Path:
        return save_reward_model(directory, self)


class StreamingProgress:
    """Per-environment streaming progress from raw frames (implements ``BatchedProgressModel``).

    Frames of all views for all environments are encoded in one backbone call per step.
    """

    def __init__(self, backbone: Any, inner: EmbeddingStreamer) -> None:
        self.backbone = backbone
        self.inner = inner

    @property
    def num_envs(self) -> int:
        return self.inner.num_envs

    @property
    def views(self) -> tuple[str, ...]:
        return self.inner.views

    def _encode(self, frames: MultiViewFrames, n: int | None) -> dict[str, torch.Tensor]:
        if set(frames) != set(self.views):
            raise ValueError(f"expected frames for views {list(self.views)}, got {sorted(frames)}")
        shapes = {v: tuple(f.shape) for v, f in frames.items()}
        for v, s in shapes.items():
            if len(s) != 4 or s[-1] != 3 or (n is not None and s[0] != n):
                raise ValueError(f"frames[{v!r}] has shape {s}; expected ({n if n is not None else 'N'}, H, W, 3) uint8")
        views = list(self.views)
        if len({s[1:] for s in shapes.values()}) == 1:  # one backbone call for every view
            stacked = (torch.stack if isinstance(frames[views[0]], torch.Tensor) else np.stack)([frames[v] for v in views], 1)
            feats = self.backbone.encode(stacked)  # (N, V, D)
            return {v: feats[:, i] for i, v in enumerate(views)}
        return {v: self.backbone.encode(frames[v]) for v in views}

    def reset(self, env_ids: Sequence[int] | np.ndarray | torch.Tensor, frames: MultiViewFrames) -> ProgressOutput:
        n = len(env_ids) if not isinstance(env_ids, torch.Tensor) else int(env_ids.numel())
        return self.inner.reset(env_ids, self._encode(frames, n))

    def step(self, frames: MultiViewFrames) -> ProgressOutput:
        return self.inner.step(self._encode(frames, self.num_envs))


def save_reward_model(directory: str | Path, pipeline: RewardPipeline) -> Path:
    """Write ``pipeline`` (model, references, calibration, backbone/text configs) to ``directory`` atomically."""
    return _save_files(directory, pipeline.scorer.model, pipeline.references,
                       pipeline.scorer.success_temperature, pipeline.meta, pipeline.extra_references)


def load_reward_model(directory: str | Path, device: str = "auto", load_backbone: bool = True,
                      load_text_encoder: bool = False) -> RewardPipeline:
    """Load a reward-model directory and (optionally) build its backbone and text encoder from the saved configs.

    The backbone identity saved at training time must match the rebuilt one (else embeddings would not match).
    """
    from robo_reward.backbones.base import BackboneConfig, resolve_device

    dev = resolve_device(device)
    model, sets, cfg = load_model_and_references(directory, dev)
    backbone = text_encoder = None
    if load_backbone:
        if "backbone" not in cfg:
            raise ValueError(f"{directory}/config.json records no backbone; load with load_backbone=False")
        from robo_reward.backbones.registry import build_backbone

        backbone = build_backbone(BackboneConfig(**{**cfg["backbone"], "device": str(dev)}))
        want = cfg.get("backbone_identity")
        if want is not None and backbone.identity != want:
            raise ValueError(
                f"backbone identity {backbone.identity} differs from the one the model was trained on ({want}); "
                "the weights or preprocessing changed"
            )
    if load_text_encoder and "text_encoder" in cfg:
        from robo_reward.backbones.text import TextEncoderConfig, build_text_encoder

        text_encoder = build_text_encoder(TextEncoderConfig(**{**cfg["text_encoder"], "device": str(dev)}))
    meta = {k: v for k, v in cfg.items()
            if k in ("backbone", "backbone_identity", "text_encoder", "outcome_thresholds", "train", "num_references")}
    scorer = ProgressScorer(model, cfg.get("success_temperature", 1.0), dev)
    return RewardPipeline(scorer, {t: r[0] for t, r in sets.items()}, backbone, text_encoder, meta,
                          {t: r[1:] for t, r in sets.items() if len(r) > 1})


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """A dataclass config as a JSON-friendly dict (enums as values)."""
    return {k: (v.value if hasattr(v, "value") else v) for k, v in asdict(cfg).items()}
