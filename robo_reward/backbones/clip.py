"""CLIP image tower (open_clip): any open_clip model name; weights = a pretrained tag, a local file, or random.

Features are the projected image embedding (e.g. 512-d for ViT-B-32), not L2-normalised.
Pretrained tags resolve to the local Hugging Face cache (see :mod:`robo_reward.backbones.weights`): nothing is
downloaded when offline, and the error says how to provide the file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from robo_reward.backbones.base import Backbone, BackboneConfig, Preprocess, resolve_device
from robo_reward.backbones.weights import (
    RANDOM,
    file_sha256,
    load_state_file,
    load_state_into,
    looks_like_path,
    resolve_hub_file,
    resolve_url_file,
)

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "ViT-B-32"
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def _open_clip() -> Any:
    try:
        import open_clip
    except ImportError as exc:
        raise ImportError("The clip backbone needs `pip install open-clip-torch` (robo-reward[vision]).") from exc
    return open_clip


@dataclass(frozen=True)
class ClipCheckpoint:
    """Where CLIP weights come from: ``path`` None means random init (seeded)."""

    path: Path | None
    tag: str  # identity part: 'random:seed=N' or 'sha256:<file hash>'
    quick_gelu: bool
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    interpolation: str


def resolve_checkpoint(model_name: str, weights: str | None, seed: int) -> ClipCheckpoint:
    """Turn ``weights`` (None/'random', an open_clip pretrained tag, or a local file) into a local checkpoint."""
    open_clip = _open_clip()
    if model_name not in open_clip.list_models():
        raise ValueError(
            f"Unknown open_clip model {model_name!r}. Known models include: "
            f"{', '.join(open_clip.list_models()[:20])}, ... (see open_clip.list_models())."
        )
    if weights is None or weights == RANDOM:
        return ClipCheckpoint(None, f"random:seed={seed}", False, CLIP_MEAN, CLIP_STD, "bicubic")
    if looks_like_path(weights):
        path = Path(weights).expanduser()
        return ClipCheckpoint(path, f"sha256:{file_sha256(path)}", False, CLIP_MEAN, CLIP_STD, "bicubic")
    pcfg = open_clip.get_pretrained_cfg(model_name, weights)
    if not pcfg:
        tags = open_clip.list_pretrained_tags_by_model(model_name)
        raise ValueError(
            f"{weights!r} is neither a local file nor an open_clip pretrained tag for {model_name!r}. "
            f"Known tags: {', '.join(tags) or '(none)'}; or use null/'random' for random init."
        )
    what = f"clip {model_name!r} pretrained={weights!r}"
    if pcfg.get("hf_hub"):
        repo_id, filename = pcfg["hf_hub"].rstrip("/"), None
        if not pcfg["hf_hub"].endswith("/"):
            repo_id, filename = pcfg["hf_hub"].rsplit("/", 1)
        names = [filename] if filename else ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]
        path = resolve_hub_file(repo_id, names, what)
    else:
        path = resolve_url_file(pcfg["url"], Path("~/.cache/clip").expanduser(), what)
    return ClipCheckpoint(
        path,
        f"sha256:{file_sha256(path)}",
        bool(pcfg.get("quick_gelu", False)),
        tuple(pcfg.get("mean", CLIP_MEAN)),  # type: ignore[arg-type]
        tuple(pcfg.get("std", CLIP_STD)),  # type: ignore[arg-type]
        str(pcfg.get("interpolation", "bicubic")),
    )


def create_clip(model_name: str, ckpt: ClipCheckpoint, seed: int, image_size: int | None = None) -> nn.Module:
    """Create the full open_clip model (random init, seeded); weights are loaded by the caller."""
    open_clip = _open_clip()
    kwargs: dict[str, Any] = {"pretrained": None, "force_quick_gelu": ckpt.quick_gelu}
    if image_size is not None:
        kwargs["force_image_size"] = image_size
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        root = logging.getLogger()
        root.addFilter(_drop_random_init_warning)  # weights are loaded afterwards; the warning would mislead
        try:
            model = open_clip.create_model(model_name, **kwargs)
        finally:
            root.removeFilter(_drop_random_init_warning)
    return model


def _drop_random_init_warning(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith("No pretrained weights loaded")


class ClipVisual(nn.Module):
    """CLIP image tower: (N, 3, S, S) -> (N, D) projected embeddings. Keys match the full model ('visual.*')."""

    def __init__(self, visual: nn.Module) -> None:
        super().__init__()
        self.visual = visual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.visual(x)
        return out[0] if isinstance(out, tuple) else out


def build(cfg: BackboneConfig) -> Backbone:
    """Build the CLIP image tower for ``cfg.model_name`` (default ViT-B-32)."""
    open_clip = _open_clip()
    model_name = cfg.model_name or DEFAULT_MODEL
    ckpt = resolve_checkpoint(model_name, cfg.weights, cfg.seed)
    full = create_clip(model_name, ckpt, cfg.seed, cfg.image_size)
    model = ClipVisual(full.visual)
    if ckpt.path is not None:
        state = load_state_file(ckpt.path)
        if not all(k.startswith("visual.") for k in state):  # a full CLIP checkpoint (maybe 3rd-party layout)
            state = open_clip.factory.convert_state_dict(full, state)
            state = {k: v for k, v in state.items() if k.startswith("visual.")}
        open_clip.model.resize_pos_embed(state, full)
        load_state_into(model, state, ckpt.path, f"clip {model_name!r} image tower")
        logger.info("Loaded clip %s image weights from %s", model_name, ckpt.path)
    size = full.visual.image_size
    size = int(size[0] if isinstance(size, (tuple, list)) else size)
    device = resolve_device(cfg.device)
    half = device.type == "cuda" if cfg.half is None else cfg.half
    embed_dim = int(getattr(full.visual, "output_dim", 0) or full.text_projection.shape[-1])
    pre = Preprocess(size=size, mean=ckpt.mean, std=ckpt.std, interpolation=ckpt.interpolation, crop_pct=1.0)
    return Backbone(
        name="clip",
        model=model,
        embed_dim=embed_dim,
        preprocess=pre,
        device=device,
        half=half,
        weights_tag=ckpt.tag,
        batch_size=cfg.batch_size,
        model_name=model_name,
    )
