"""Offline scoring of a rosbag2 recording (sqlite3 or mcap, read with ``rosbags``; no ROS install needed).

Camera frames (sensor_msgs/Image) are decoded, paired across topics by header stamp exactly as the reward node
does (:class:`robo_reward.real.pairing.StampPairer`), and streamed through a progress model. The result has the
same fields as ``robo-reward score``: ``progress`` and ``success_prob`` per paired frame in [0, 1],
``frame_index``, ``fps``, ``views``, ``timing``; plus ``uncertainty``, ``stamps_ns`` and ``skipped`` (malformed /
unpaired frame counts).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from robo_reward.data.atomic import atomic_write_json
from robo_reward.real.images import MalformedImageError, image_to_rgb, resize_rgb
from robo_reward.real.models import load_progress_model
from robo_reward.real.pairing import StampPairer
from robo_reward.types import BatchedProgressModel

logger = logging.getLogger(__name__)


@dataclass
class BagScoreConfig:
    """``robo-reward score_bag`` (Hydra config ``configs/ros/score_bag.yaml``)."""

    bag: str = ""
    """rosbag2 directory (sqlite3 or mcap storage)"""
    image_topics: list[str] = field(default_factory=lambda: ["/camera/front/image_raw", "/camera/side/image_raw"])
    """sensor_msgs/Image topics, one per view"""
    views: list[str] = field(default_factory=lambda: ["front", "side"])
    """model view name for each topic (same order)"""
    model: str = "heuristic"
    """'heuristic' or a trained reward model directory"""
    image_size: int = 128
    """frames are resized to image_size x image_size"""
    sync_tolerance_s: float = 0.02
    """max stamp spread of a paired frame set (s)"""
    output: str = ""
    """write the JSON here too (empty: only return it)"""

    def __post_init__(self) -> None:
        if not self.bag:
            raise ValueError("score_bag: set bag=<path to a rosbag2 directory>")
        if len(self.image_topics) != len(self.views) or not self.views:
            raise ValueError(f"score_bag: need one view per image topic, got topics {list(self.image_topics)} and "
                             f"views {list(self.views)}")
        if not 16 <= self.image_size <= 1024:
            raise ValueError(f"score_bag: image_size must be in [16, 1024], got {self.image_size}")
        if not 0.0 <= self.sync_tolerance_s <= 1.0:
            raise ValueError(f"score_bag: sync_tolerance_s must be in [0, 1], got {self.sync_tolerance_s}")


def score_bag(cfg: BagScoreConfig, model: BatchedProgressModel | None = None) -> dict[str, Any]:
    """Score ``cfg.bag``; ``model`` (num_envs=1) overrides ``cfg.model``. Returns the JSON-ready dict."""
    from rosbags.rosbag2 import Reader
    from rosbags.typesys import Stores, get_typestore

    t0 = time.perf_counter()
    path = Path(cfg.bag)
    if not path.exists():
        raise ValueError(f"bag {path} does not exist")
    views = list(cfg.views)
    model = model if model is not None else load_progress_model(cfg.model, views, 1)
    view_of = dict(zip(cfg.image_topics, views))
    pairer: StampPairer[np.ndarray] = StampPairer(list(cfg.image_topics), int(cfg.sync_tolerance_s * 1e9), 10)
    typestore = get_typestore(Stores.ROS2_KILTED)
    malformed: dict[str, int] = {"encoding": 0, "size": 0, "empty": 0}
    progress, success, uncertainty, stamps = [], [], [], []
    t_score = 0.0
    with Reader(path) as reader:
        available = {c.topic: c.msgtype for c in reader.connections}
        missing = [t for t in cfg.image_topics if t not in available]
        if missing:
            raise ValueError(f"bag {path} has no topics {missing}; image topics in it: "
                             f"{sorted(t for t, m in available.items() if m.endswith('Image'))}")
        conns = [c for c in reader.connections if c.topic in view_of]
        for conn, _, raw in reader.messages(connections=conns):
            msg = typestore.deserialize_cdr(raw, conn.msgtype)
            try:
                img = resize_rgb(image_to_rgb(msg), cfg.image_size)
            except MalformedImageError as exc:
                malformed[exc.kind] += 1
                continue
            stamp = int(msg.header.stamp.sec) * 1_000_000_000 + int(msg.header.stamp.nanosec)
            for s in pairer.add(conn.topic, stamp, img):
                frames = {view_of[t]: im[None] for t, im in s.items.items()}
                ts = time.perf_counter()
                out = model.reset([0], frames) if not stamps else model.step(frames)
                t_score += time.perf_counter() - ts
                progress.append(float(out.progress[0]))
                success.append(float(out.success_prob[0]))
                uncertainty.append(float(out.uncertainty[0]))
                stamps.append(s.stamp_ns)
    if not stamps:
        raise ValueError(f"no paired frame sets in {path} for topics {list(cfg.image_topics)} within "
                         f"{cfg.sync_tolerance_s} s (malformed: {malformed}); raise sync_tolerance_s?")
    n = len(stamps)
    span = (stamps[-1] - stamps[0]) / 1e9
    total = time.perf_counter() - t0
    result = {
        "progress": progress, "success_prob": success, "uncertainty": uncertainty,
        "frame_index": list(range(n)), "stamps_ns": stamps,
        "fps": (n - 1) / span if n > 1 and span > 0 else 0.0,
        "views": views,
        "timing": {"total_s": total, "score_s": t_score, "per_frame_ms": 1000.0 * t_score / n},
        "skipped": {"malformed": malformed, "unpaired": sum(pairer.dropped.values())},
        "source": {"bag": str(path), "image_topics": list(cfg.image_topics), "model": cfg.model},
    }
    return result


def run(cfg: BagScoreConfig) -> dict[str, Any]:
    """CLI entry (``robo-reward score_bag bag=...``): score, optionally write ``cfg.output`` atomically."""
    result = score_bag(cfg)
    if cfg.output:
        out = atomic_write_json(cfg.output, result)
        logger.info("wrote %s (%d frames)", out, len(result["progress"]))
    return result
