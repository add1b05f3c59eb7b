"""On-disk cache of per-frame embeddings, keyed by content (video bytes) and backbone identity.

Layout: ``<root>/<backbone.identity>/<key[:2]>/<key>.safetensors`` holding one float32 tensor ``features``
(T, D). A changed video hashes differently and a changed backbone (weights, preprocessing, dtype) has another
identity, so stale entries are never returned. Writes go to a temp file in the same folder and are published
with ``os.replace``, so concurrent writers of the same entry are safe (last one wins, both wrote equal data) and
readers never see a partial file. A corrupt entry is recomputed, with a warning.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Callable

import numpy as np

from robo_reward.backbones.base import Backbone, as_uint8_frames
from robo_reward.data.atomic import atomic_path

logger = logging.getLogger(__name__)


def sha256_file(path: str | os.PathLike[str]) -> str:
    """sha256 hex digest of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _read_video(path: Path) -> np.ndarray:
    """Decode a video to (T, H, W, 3) uint8 RGB with the project's video reader."""
    from robo_reward.data.video import read_video

    frames, _fps = read_video(path)
    return frames


class EmbeddingCache:
    """Per-frame embedding cache under ``root``. Counts ``hits`` and ``misses``."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser()
        self.hits = 0
        self.misses = 0

    def stats(self) -> dict[str, int]:
        """{'hits': ..., 'misses': ...} since construction."""
        return {"hits": self.hits, "misses": self.misses}

    def entry_path(self, key: str, backbone: Backbone) -> Path:
        """Where the entry for a (hashed) key and backbone lives."""
        return self.root / backbone.identity / key[:2] / f"{key}.safetensors"

    def get_video(self, path: str | os.PathLike[str], backbone: Backbone, batch_size: int = 32) -> np.ndarray:
        """Embeddings of every frame of a video file.

        Args:
            path: video file (decoded with ``robo_reward.data.video.read_video`` on a miss).
            backbone: the encoder; its ``identity`` is part of the key.
            batch_size: frames per forward pass on a miss.

        Returns:
            (T, D) float32.
        """
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"Video {str(p)!r} does not exist.")
        key = sha256_file(p)
        return self._get(key, backbone, lambda: backbone.encode_frames(_read_video(p), batch_size), None, str(p))

    def get_array(
        self, key: str, frames: np.ndarray, backbone: Backbone, batch_size: int = 32
    ) -> np.ndarray:
        """Embeddings of in-memory frames (N, H, W, 3) uint8 cached under a caller-chosen ``key``.

        The key must identify the frames' content (e.g. '<episode id>/<view>'); an entry whose frame count differs
        from ``len(frames)`` is treated as stale and recomputed.

        Returns:
            (N, D) float32.
        """
        if not isinstance(key, str) or not key:
            raise ValueError(f"key must be a non-empty string, got {key!r}.")
        t = as_uint8_frames(frames)
        if t.ndim != 4:
            raise ValueError(f"get_array expects (N, H, W, 3) frames of one view, got {tuple(t.shape)}.")
        hashed = hashlib.sha256(f"array:{key}".encode()).hexdigest()
        return self._get(hashed, backbone, lambda: backbone.encode_frames(t, batch_size), int(t.shape[0]), key)

    def _get(
        self, key: str, backbone: Backbone, compute: Callable[[], np.ndarray], expect_len: int | None, source: str
    ) -> np.ndarray:
        target = self.entry_path(key, backbone)
        cached = self._load(target, backbone.embed_dim, expect_len)
        if cached is not None:
            self.hits += 1
            return cached
        self.misses += 1
        features = np.ascontiguousarray(compute(), dtype=np.float32)
        self._store(target, features, {"source": source, "backbone": backbone.name, "identity": backbone.identity})
        return features

    @staticmethod
    def _load(target: Path, embed_dim: int, expect_len: int | None) -> np.ndarray | None:
        if not target.is_file():
            return None
        from safetensors.numpy import load_file

        try:
            features = load_file(str(target))["features"]
        except Exception as exc:  # truncated or foreign file: recompute
            logger.warning("Cache entry %s is unreadable (%s); recomputing it.", target, exc)
            return None
        if features.ndim != 2 or features.shape[1] != embed_dim or features.dtype != np.float32:
            logger.warning("Cache entry %s has shape %s %s, expected (T, %d) float32; recomputing it.",
                           target, features.shape, features.dtype, embed_dim)
            return None
        if expect_len is not None and features.shape[0] != expect_len:
            logger.warning("Cache entry %s holds %d frames but %d were given; recomputing it.",
                           target, features.shape[0], expect_len)
            return None
        return features

    @staticmethod
    def _store(target: Path, features: np.ndarray, metadata: dict[str, str]) -> None:
        from safetensors.numpy import save_file

        with atomic_path(target) as tmp:
            save_file({"features": features}, tmp, metadata=metadata)
