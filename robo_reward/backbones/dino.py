"""DINO / DINOv2 ViTs through timm (e.g. 'vit_small_patch14_dinov2.lvd142m', 'vit_small_patch16_224.dino').

``weights``: None/'random' = random init (seeded), 'pretrained' = the timm pretrained weights of ``model_name``
taken from the local Hugging Face cache (never a silent download when offline), or a local weight file.
Features are timm's pooled ``num_features`` output (the CLS token for these ViTs), classifier removed.
Position embeddings are resampled by timm when ``image_size`` differs from the checkpoint's.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from robo_reward.backbones.base import Backbone, BackboneConfig, Preprocess, resolve_device
from robo_reward.backbones.weights import (
    RANDOM,
    file_sha256,
    load_state_file,
    looks_like_path,
    resolve_hub_file,
)

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "vit_small_patch14_dinov2.lvd142m"
PRETRAINED_TAGS = ("pretrained", "hub")


def _timm() -> Any:
    try:
        import timm
    except ImportError as exc:
        raise ImportError("The dino backbone needs `pip install timm` (robo-reward[vision]).") from exc
    return timm


def _hub_weights(model_name: str) -> Path:
    timm = _timm()
    pcfg = timm.models.get_pretrained_cfg(model_name)
    if pcfg is None or not pcfg.hf_hub_id:
        raise ValueError(
            f"timm has no hub weights for {model_name!r}; set backbone.weights to a local weight file or null."
        )
    names = [pcfg.hf_hub_filename] if pcfg.hf_hub_filename else ["model.safetensors", "pytorch_model.bin"]
    return resolve_hub_file(pcfg.hf_hub_id, names, f"dino {model_name!r}")


def build(cfg: BackboneConfig) -> Backbone:
    """Build a timm DINO/DINOv2 ViT feature extractor."""
    timm = _timm()
    model_name = cfg.model_name or DEFAULT_MODEL
    if not timm.is_model(model_name):
        raise ValueError(
            f"Unknown timm model {model_name!r}. DINO examples: 'vit_small_patch14_dinov2.lvd142m', "
            f"'vit_small_patch16_224.dino' (see timm.list_models('*dino*'))."
        )
    weights = cfg.weights
    path: Path | None
    if weights is None or weights == RANDOM:
        path = None
    elif weights in PRETRAINED_TAGS:
        path = _hub_weights(model_name)
    elif looks_like_path(weights):
        path = Path(weights).expanduser()
    else:
        raise ValueError(
            f"backbone.weights={weights!r} is not understood for dino: use null/'{RANDOM}' (random init), "
            f"'pretrained' (timm hub weights of model_name, from the local HF cache), or a local weight file."
        )
    kwargs: dict[str, Any] = {"num_classes": 0}
    if cfg.image_size is not None:
        kwargs["img_size"] = cfg.image_size
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        if path is None:
            model = timm.create_model(model_name, pretrained=False, **kwargs)
            tag = f"random:seed={cfg.seed}"
        else:
            state = load_state_file(path)
            try:  # timm's own loader: drops the classifier, resamples position embeddings
                model = timm.create_model(
                    model_name, pretrained=True, pretrained_cfg_overlay={"state_dict": state}, **kwargs
                )
            except RuntimeError as exc:
                raise ValueError(
                    f"Weight file {str(path)!r} does not match timm model {model_name!r}: {exc}. "
                    "Check backbone.model_name."
                ) from exc
            tag = f"sha256:{file_sha256(path)}"
            logger.info("Loaded dino %s weights from %s", model_name, path)
    pcfg = model.pretrained_cfg
    size = cfg.image_size or int(pcfg["input_size"][-1])
    device = resolve_device(cfg.device)
    half = device.type == "cuda" if cfg.half is None else cfg.half
    interp = pcfg.get("interpolation", "bicubic")
    pre = Preprocess(
        size=size,
        mean=tuple(pcfg.get("mean", (0.485, 0.456, 0.406))),  # type: ignore[arg-type]
        std=tuple(pcfg.get("std", (0.229, 0.224, 0.225))),  # type: ignore[arg-type]
        interpolation=interp if interp in ("bilinear", "bicubic") else "bicubic",
        crop_pct=float(pcfg.get("crop_pct", 1.0)),
    )
    return Backbone(
        name="dino",
        model=model,
        embed_dim=int(model.num_features),
        preprocess=pre,
        device=device,
        half=half,
        weights_tag=tag,
        batch_size=cfg.batch_size,
        model_name=model_name,
    )
