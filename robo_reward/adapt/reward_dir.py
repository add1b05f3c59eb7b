"""The self-contained adapted reward directory: ``model.safetensors`` + ``config.json`` + ``refs/*.png`` [+ ``base/``].

``model.safetensors`` holds the head weights (``heads.<view>.*``), the demo's own embeddings (``demo.<view>``,
(T, D)) and its progress labels (``demo_labels``, (T,)). ``config.json`` holds everything else needed to score:
the backbone config and identity, views, stages, task text, head config. ``refs/`` has the reference frames
(start, end of each stage, goal) as PNG for people to look at. When adapted with ``--base``, ``base/`` is the
fine-tuned base model (an ordinary reward-model directory whose reference is the demo's start and goal) and
``config.json["base"]`` says how demo views map onto its views and how its progress is mixed with the heads'.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from safetensors.torch import load_file, save_file

from robo_reward.adapt.base import BASE_SUBDIR, BasePart, load_base_part, save_base_part
from robo_reward.adapt.errors import InputError
from robo_reward.adapt.model import AdaptedReward, HeadConfig
from robo_reward.data.atomic import atomic_path, atomic_write_bytes, atomic_write_json
from robo_reward.data.episodes import StageSpan
from robo_reward.types import ProgressOutput

logger = logging.getLogger(__name__)

FORMAT = "robo_reward.adapt"
FORMAT_VERSION = 2
"""2: optional ``base/`` (adapted from a base model); version-1 directories read unchanged"""
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


@dataclass
class RewardBundle:
    """An adapted reward model and what it needs to score new episodes."""

    model: AdaptedReward
    task: str
    backbone: dict[str, Any]  # BackboneConfig fields
    backbone_identity: str
    stages: list[StageSpan]
    demo_embeddings: dict[str, np.ndarray]  # view -> (T, D) original demo footage
    demo_labels: np.ndarray  # (T,)
    info: dict[str, Any] = field(default_factory=dict)  # demo source, fps, seed, training figures, timing
    base: BasePart | None = None  # the fine-tuned base model (adapted with --base)

    @property
    def views(self) -> list[str]:
        return self.model.views

    def score(self, embeddings: dict[str, np.ndarray]) -> ProgressOutput:
        """One episode, frame 0 first: model view -> (T, D) (any non-empty subset of ``views``).  (T,) tensors.

        Without a base: the heads' output. With one: the heads and the fine-tuned base combined by
        :meth:`BasePart.combine` (``base.mix`` with weight ``base.head_weight`` on the heads).
        """
        heads = self.model.score(embeddings)
        if self.base is None or self.base.head_weight >= 1.0 or not any(v in self.base.view_map for v in embeddings):
            return heads
        return self.base.combine(heads, *self.base.score(embeddings))


def save_reward_dir(directory: str | os.PathLike[str], bundle: RewardBundle, ref_images: dict[str, dict[int, np.ndarray]]) -> Path:
    """Write the bundle (each file atomically).  ref_images: view -> frame index -> (H, W, 3) uint8 RGB."""
    out = Path(directory)
    (out / "refs").mkdir(parents=True, exist_ok=True)
    tensors = {f"heads.{k}": v.detach().cpu().contiguous() for k, v in bundle.model.heads.state_dict().items()}
    for view, e in bundle.demo_embeddings.items():
        tensors[f"demo.{view}"] = torch.from_numpy(np.ascontiguousarray(e, dtype=np.float32))
    tensors["demo_labels"] = torch.from_numpy(np.ascontiguousarray(bundle.demo_labels, dtype=np.float32))
    with atomic_path(out / WEIGHTS_FILE) as tmp:
        save_file(tensors, tmp, metadata={"format": FORMAT})
    refs: dict[str, list[str]] = {}
    for view, imgs in ref_images.items():
        refs[view] = []
        for idx, img in sorted(imgs.items()):
            name = f"refs/{view}_frame{idx:05d}.png"
            ok, buf = cv2.imencode(".png", cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
            if ok:
                atomic_write_bytes(out / name, buf.tobytes())
                refs[view].append(name)
    head = bundle.model.heads[bundle.views[0]]
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "task": bundle.task,
        "views": bundle.views,
        "embed_dim": int(head.mu.shape[0]),
        "num_refs": int(head.refs.shape[0]),
        "head": asdict(bundle.model.cfg),
        "backbone": bundle.backbone,
        "backbone_identity": bundle.backbone_identity,
        "stages": [asdict(s) for s in bundle.stages],
        "reference_images": refs,
        "info": bundle.info,
    }
    if bundle.base is not None:
        save_base_part(out / BASE_SUBDIR, bundle.base)
        config["base"] = {"dir": BASE_SUBDIR, "view_map": bundle.base.view_map, "head_weight": bundle.base.head_weight,
                          "mix": bundle.base.mix}
    atomic_write_json(out / CONFIG_FILE, config, indent=2)
    return out


def load_reward_dir(directory: str | os.PathLike[str]) -> RewardBundle:
    """Read a directory written by :func:`save_reward_dir`.

    Raises:
        InputError: missing directory or files, or not an adapted reward directory.
    """
    d = Path(directory)
    if not d.is_dir():
        raise InputError(f"{d}: reward directory not found (create one with `robo-reward adapt`)")
    cfg_path, w_path = d / CONFIG_FILE, d / WEIGHTS_FILE
    if not cfg_path.is_file() or not w_path.is_file():
        raise InputError(f"{d}: not an adapted reward directory (needs {CONFIG_FILE} and {WEIGHTS_FILE}; made by `robo-reward adapt`)")
    try:
        cfg = json.loads(cfg_path.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(f"{cfg_path}: not valid JSON ({exc})") from exc
    if cfg.get("format") != FORMAT:
        raise InputError(f"{cfg_path}: format is {cfg.get('format')!r}, expected {FORMAT!r} (a directory made by `robo-reward adapt`)")
    if cfg.get("format_version", 0) > FORMAT_VERSION:
        raise InputError(f"{cfg_path}: format_version {cfg['format_version']} is newer than this robo-reward reads ({FORMAT_VERSION}); upgrade")
    try:
        tensors = load_file(str(w_path))
    except Exception as exc:  # safetensors raises its own error types for corrupt files
        raise InputError(f"{w_path}: cannot read weights ({exc})") from exc
    # directories written before head.pooling existed were adapted and measured with the mean of the sigmoids
    head_cfg = HeadConfig(**{"pooling": "mean", **cfg["head"]})
    model = AdaptedReward(cfg["views"], cfg["embed_dim"], cfg["num_refs"], head_cfg)
    state = {k[len("heads.") :]: v for k, v in tensors.items() if k.startswith("heads.")}
    model.heads.load_state_dict(state)
    model.eval()
    base = None
    if cfg.get("base"):
        b = cfg["base"]
        try:
            # directories written before base.mix existed were adapted and measured with the linear mix
            base = load_base_part(d / b["dir"], b["view_map"], float(b["head_weight"]), b.get("mix", "linear"))
        except (OSError, ValueError, KeyError) as exc:
            raise InputError(f"{d}: cannot read the fine-tuned base model in {b.get('dir')!r} ({' '.join(str(exc).split())}); "
                             "re-run `robo-reward adapt --base ...`") from exc
    return RewardBundle(
        model=model,
        task=cfg["task"],
        backbone=cfg["backbone"],
        backbone_identity=cfg["backbone_identity"],
        stages=[StageSpan(**s) for s in cfg["stages"]],
        demo_embeddings={v: tensors[f"demo.{v}"].numpy() for v in cfg["views"]},
        demo_labels=tensors["demo_labels"].numpy(),
        info=cfg.get("info", {}),
        base=base,
    )
