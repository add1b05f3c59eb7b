"""Frozen-backbone embeddings of episode views, with optional domain-jittered copies of the demo."""

from __future__ import annotations

import logging
from typing import Any, Protocol

import numpy as np

from robo_reward.adapt.augment import DomainJitter, apply_jitter
from robo_reward.progress import ProgressBar

logger = logging.getLogger(__name__)


class FrameEncoder(Protocol):
    """What adaptation needs from a backbone (``robo_reward.backbones.Backbone`` satisfies it)."""

    @property
    def identity(self) -> str: ...

    def encode_frames(self, frames: np.ndarray, batch_size: int | None = None) -> np.ndarray: ...


def build_encoder(spec: dict[str, Any]) -> FrameEncoder:
    """Build the frozen backbone described by a ``BackboneConfig`` field dict (as stored in a reward directory)."""
    from robo_reward.backbones.base import BackboneConfig
    from robo_reward.backbones.registry import build_backbone

    return build_backbone(BackboneConfig(**spec))


def embed_episode(
    encoder: FrameEncoder,
    frames: dict[str, np.ndarray],
    copies: int = 0,
    jitter: DomainJitter | None = None,
    seed: int = 0,
    desc: str = "embedding",
) -> dict[str, np.ndarray]:
    """Embed every view; with ``copies > 0`` also ``copies`` domain-jittered versions of each view.

    Args:
        frames: view -> (T, H, W, 3) uint8 RGB.
    Returns:
        view -> (1 + copies, T, D) float32; index 0 is the original footage.
    """
    jitter = jitter or DomainJitter()
    rng = np.random.default_rng(seed)
    params = {v: [jitter.sample(rng) for _ in range(copies)] for v in frames}
    out: dict[str, np.ndarray] = {}
    total = sum(len(f) for f in frames.values()) * (1 + copies)
    with ProgressBar(total=total, desc=desc, unit="frame", mininterval=0.5, leave=False) as bar:
        for view, fr in frames.items():
            stack = []
            for c in range(1 + copies):
                x = fr if c == 0 else apply_jitter(fr, params[view][c - 1])
                stack.append(np.asarray(encoder.encode_frames(x), dtype=np.float32))
                bar.update(len(fr))
            out[view] = np.stack(stack)
    return out
