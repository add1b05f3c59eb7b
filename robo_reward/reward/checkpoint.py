"""Reward-model directories and resumable training checkpoints.

A reward-model directory holds::

    model.safetensors      hop-model weights
    config.json            model hyper-parameters, views, sizes, calibration, backbone/text-encoder configs, tasks
    reference.safetensors  per task: start/goal reference embeddings per view and the task text embedding

and is written atomically (built in a temporary sibling directory, then swapped in).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from safetensors.numpy import load_file as load_np, save_file as save_np
from safetensors.torch import load_file as load_torch, save_file as save_torch

from robo_reward.data.atomic import atomic_path, default_permissions, json_ready
from robo_reward.reward.data import Reference
from robo_reward.reward.model import HopModel, RewardModelConfig

logger = logging.getLogger(__name__)

FORMAT = "robo_reward.reward/1"
_SEP = "::"


def save_reward_model(
    directory: str | Path,
    model: HopModel,
    references: dict[str, Reference],
    success_temperature: float = 1.0,
    extra: dict[str, Any] | None = None,
    extra_references: dict[str, Sequence[Reference]] | None = None,
) -> Path:
    """Write a reward-model directory atomically and return its path.

    Args:
        directory: target folder (replaced if it exists).
        model: the hop model.
        references: task -> reference (start/goal embeddings per view, text embedding).
        success_temperature: calibration of the success probability.
        extra: JSON-serialisable metadata (backbone / text-encoder configs, thresholds, training info).
        extra_references: task -> further reference demos (start/goal embeddings; the task's text and instruction
            are the main reference's), stored as ``<task>::start@<i>::<view>`` and ``<task>::goal@<i>::<view>``.
    """
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.tmp-", dir=directory.parent))
    default_permissions(tmp)
    try:
        state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        save_torch(state, str(tmp / "model.safetensors"))
        tensors: dict[str, np.ndarray] = {}
        tasks = {}
        for task, ref in references.items():
            if _SEP in task:
                raise ValueError(f"task name {task!r} must not contain {_SEP!r}")
            for v, e in ref.start.items():
                tensors[f"{task}{_SEP}start{_SEP}{v}"] = np.ascontiguousarray(e, np.float32)
            for v, e in (ref.goal or {}).items():
                tensors[f"{task}{_SEP}goal{_SEP}{v}"] = np.ascontiguousarray(e, np.float32)
            if ref.text is not None:
                tensors[f"{task}{_SEP}text"] = np.ascontiguousarray(ref.text, np.float32)
            tasks[task] = {"instruction": ref.instruction, "source": ref.source}
            extras = list((extra_references or {}).get(task, ()))
            for i, x in enumerate(extras, start=1):
                for v, e in x.start.items():
                    tensors[f"{task}{_SEP}start@{i}{_SEP}{v}"] = np.ascontiguousarray(e, np.float32)
                for v, e in (x.goal or {}).items():
                    tensors[f"{task}{_SEP}goal@{i}{_SEP}{v}"] = np.ascontiguousarray(e, np.float32)
            if extras:
                tasks[task]["extra_references"] = len(extras)
        save_np(tensors, str(tmp / "reference.safetensors"))
        cfg = {
            "format": FORMAT,
            "model": asdict(model.cfg),
            "views": list(model.views),
            "embed_dim": model.embed_dim,
            "text_dim": model.text_dim,
            "success_temperature": float(success_temperature),
            "tasks": tasks,
            **(extra or {}),
        }
        (tmp / "config.json").write_text(json.dumps(json_ready(cfg), indent=2, allow_nan=False))
        old = None
        if directory.exists():
            old = directory.parent / f".{directory.name}.old-{os.getpid()}"
            os.replace(directory, old)
        os.replace(tmp, directory)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    logger.info("saved reward model to %s", directory)
    return directory


def load_model_files(directory: str | Path, device: torch.device | str = "cpu") -> tuple[HopModel, dict[str, Reference], dict[str, Any]]:
    """Load a reward-model directory: (model in eval mode, task -> main reference, config dict)."""
    model, sets, cfg = load_model_and_references(directory, device)
    return model, {task: refs[0] for task, refs in sets.items()}, cfg


def load_model_and_references(directory: str | Path, device: torch.device | str = "cpu"
                              ) -> tuple[HopModel, dict[str, list[Reference]], dict[str, Any]]:
    """Like :func:`load_model_files`, with every stored reference demo: task -> [main, extra...]."""
    directory = Path(directory)
    cfg_path = directory / "config.json"
    for name in ("config.json", "model.safetensors", "reference.safetensors"):
        if not (directory / name).is_file():
            raise FileNotFoundError(f"{directory / name} is missing: {directory} is not a reward-model directory "
                                    "(expected model.safetensors, config.json, reference.safetensors)")
    cfg = json.loads(cfg_path.read_text())
    if cfg.get("format") != FORMAT:
        raise ValueError(f"{cfg_path}: format {cfg.get('format')!r}, expected {FORMAT!r}")
    # directories written before the engaged head existed have no such key and no such weights
    model_cfg = {"engaged_head": False, **cfg["model"]}
    model = HopModel(RewardModelConfig(**model_cfg), cfg["views"], cfg["embed_dim"], cfg["text_dim"])
    model.load_state_dict(load_torch(str(directory / "model.safetensors")))
    model.to(device).eval()
    return model, _read_references(load_np(str(directory / "reference.safetensors")), cfg), cfg


def _read_references(tensors: dict[str, np.ndarray], cfg: dict[str, Any]) -> dict[str, list[Reference]]:
    """task -> [main reference, extra references...] from reference.safetensors and config.json."""
    out = {}
    for task, info in cfg["tasks"].items():
        text = tensors.get(f"{task}{_SEP}text")
        refs = []
        for tag in ["", *(f"@{i}" for i in range(1, int(info.get("extra_references", 0)) + 1))]:
            start = {k.split(_SEP)[2]: v for k, v in tensors.items() if k.startswith(f"{task}{_SEP}start{tag}{_SEP}")}
            goal = {k.split(_SEP)[2]: v for k, v in tensors.items() if k.startswith(f"{task}{_SEP}goal{tag}{_SEP}")}
            if not start:
                raise ValueError(f"reference.safetensors has no start embeddings for task {task!r} reference {tag or '@0'}")
            refs.append(Reference(task, info["instruction"], start, goal or None, text, info["source"]))
        out[task] = refs
    return out


def save_training_state(path: str | Path, state: dict[str, Any]) -> None:
    """Atomically write a resumable training checkpoint (model/optimizer state dicts, step, RNG states)."""
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_training_state(path: str | Path) -> dict[str, Any]:
    """Load a training checkpoint written by :func:`save_training_state` (``weights_only=True``)."""
    return torch.load(path, map_location="cpu", weights_only=True)
