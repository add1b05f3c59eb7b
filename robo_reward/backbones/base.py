"""The one vision-backbone interface: uint8 RGB frames in, float32 features out.

A :class:`Backbone` wraps an ``nn.Module`` that maps a preprocessed image batch ``(N, 3, S, S)`` to pooled
features ``(N, D)``. The backbone owns its preprocessing (:class:`Preprocess`: resize the shorter side, centre
crop, mean/std), declared once when it is built, so callers only ever hand over raw frames.

Weights load only in the builders (``robo_reward.backbones.registry.build_backbone``), never at import time.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

logger = logging.getLogger(__name__)


class BackboneName(str, enum.Enum):
    """The registered vision backbones (the keys of the one registry in ``registry.py``).

    A ``str`` enum rather than ``Literal`` because OmegaConf structured configs reject ``Literal`` annotations;
    an unknown name fails with an error listing the choices either way.
    """

    efficientnet_lite0 = "efficientnet_lite0"
    clip = "clip"
    dino = "dino"
    small_cnn = "small_cnn"

    def __str__(self) -> str:  # the value, so OmegaConf interpolations and f-strings give 'clip'
        return str(self.value)

    @classmethod
    def _missing_(cls, value: object) -> BackboneName:
        choices = ", ".join(m.value for m in cls)
        raise ValueError(f"Unknown backbone name {value!r}. Expected one of: {choices}. Set backbone.name to one of them.")


def resolve_device(device: str) -> torch.device:
    """Turn ``"auto"`` into CUDA when present (else CPU); validate anything else.

    Raises:
        ValueError: the device string is not understood by torch, or CUDA was asked for but is not available.
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"Unknown device {device!r}: expected 'auto', 'cpu', 'cuda' or 'cuda:N'.") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} but CUDA is not available on this machine. Use device='auto' or 'cpu'.")
    return dev


@dataclass
class BackboneConfig:
    """How to build a vision backbone (maps 1:1 onto ``configs/backbone/*.yaml``)."""

    name: BackboneName = BackboneName.efficientnet_lite0
    """registered backbone: efficientnet_lite0 (offline ImageNet default), clip, dino, small_cnn"""
    model_name: str | None = None
    """architecture within the family, e.g. 'ViT-B-32' (clip), 'vit_small_patch14_dinov2.lvd142m' (dino);
    None = the family default"""
    weights: str | None = None
    """a hub/pretrained tag (e.g. 'laion2b_s34b_b79k', 'pretrained'), a local weight file (.safetensors/.pt/.pth),
    or None (the family default: packaged ImageNet weights for efficientnet_lite0, random init otherwise)"""
    device: str = "auto"
    """'auto' (CUDA when present), 'cpu', 'cuda', 'cuda:N'"""
    image_size: int | None = None
    """square input side in pixels; None = the architecture's native size"""
    batch_size: int = 32
    """frames per forward pass in encode_frames and the embedding cache"""
    half: bool | None = None
    """float16 compute; None = auto (on for CUDA, off on CPU). Features are always returned as float32"""
    seed: int = 0
    """seed for random initialisation (weights=None on clip/dino/small_cnn), so random backbones are reproducible"""
    pool_grid: int = 1
    """efficientnet_lite0: average-pool the last feature map to a pool_grid x pool_grid grid instead of one vector
    (embedding 1280 * pool_grid**2): keeps where things are in the image, which a global average discards"""

    def __post_init__(self) -> None:
        self.name = BackboneName(self.name.value if isinstance(self.name, BackboneName) else self.name)
        if self.image_size is not None and not (16 <= self.image_size <= 2048):
            raise ValueError(f"backbone.image_size must be in [16, 2048] or null (native), got {self.image_size}.")
        if self.batch_size < 1:
            raise ValueError(f"backbone.batch_size must be >= 1, got {self.batch_size}.")
        if not 1 <= self.pool_grid <= 4:
            raise ValueError(f"backbone.pool_grid must be in 1..4, got {self.pool_grid}.")
        if self.pool_grid != 1 and self.name is not BackboneName.efficientnet_lite0:
            raise ValueError(f"backbone.pool_grid={self.pool_grid} is supported by efficientnet_lite0 only; "
                             f"use pool_grid=1 with {self.name.value}.")
        if self.device != "auto":
            try:
                torch.device(self.device)
            except (RuntimeError, TypeError) as exc:
                raise ValueError(
                    f"backbone.device={self.device!r} is not a device: use 'auto', 'cpu', 'cuda' or 'cuda:N'."
                ) from exc


@dataclass(frozen=True)
class Preprocess:
    """Frame preprocessing, declared once per backbone.

    uint8 (N, H, W, 3) RGB -> resize so the shorter side is ``round(size / crop_pct)`` -> centre crop
    ``size x size`` -> scale to [0, 1] -> ``(x - mean) / std`` -> float (N, 3, size, size).
    """

    size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    interpolation: str = "bilinear"  # 'bilinear' | 'bicubic'
    crop_pct: float = 1.0

    def __post_init__(self) -> None:
        if self.interpolation not in ("bilinear", "bicubic"):
            raise ValueError(f"interpolation must be 'bilinear' or 'bicubic', got {self.interpolation!r}.")
        if not 0.0 < self.crop_pct <= 1.0:
            raise ValueError(f"crop_pct must be in (0, 1], got {self.crop_pct}.")

    def describe(self) -> str:
        """A stable text form, part of the backbone identity."""
        mean = ",".join(f"{m:.6f}" for m in self.mean)
        std = ",".join(f"{s:.6f}" for s in self.std)
        return f"size={self.size};crop={self.crop_pct:.4f};interp={self.interpolation};mean={mean};std={std}"

    def __call__(self, frames: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """frames: (N, H, W, 3) uint8 on any device -> (N, 3, size, size) ``dtype`` on the same device."""
        x = frames.permute(0, 3, 1, 2).float()
        h, w = x.shape[-2:]
        short = min(h, w)
        target_short = max(self.size, int(math.floor(self.size / self.crop_pct + 0.5)))
        if short != target_short:
            scale = target_short / short
            new_h, new_w = max(self.size, round(h * scale)), max(self.size, round(w * scale))
            x = F.interpolate(x, size=(new_h, new_w), mode=self.interpolation, align_corners=False, antialias=True)
            h, w = new_h, new_w
        top, left = (h - self.size) // 2, (w - self.size) // 2
        x = x[:, :, top : top + self.size, left : left + self.size]
        mean = torch.tensor(self.mean, device=x.device).view(1, 3, 1, 1) * 255.0
        std = torch.tensor(self.std, device=x.device).view(1, 3, 1, 1) * 255.0
        return ((x - mean) / std).to(dtype).contiguous()


def as_uint8_frames(frames: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Validate frames and return them as a uint8 torch tensor (..., H, W, 3) (no copy for torch input)."""
    if isinstance(frames, np.ndarray):
        t = torch.from_numpy(np.ascontiguousarray(frames))
    elif isinstance(frames, torch.Tensor):
        t = frames
    else:
        raise TypeError(f"frames must be a numpy array or torch tensor, got {type(frames).__name__}.")
    if t.dtype != torch.uint8:
        raise TypeError(
            f"frames must be uint8 RGB (0-255), got dtype {t.dtype}. Convert with frames.astype(np.uint8) "
            "(after scaling to 0-255 if they are floats in [0, 1])."
        )
    if t.ndim not in (4, 5) or t.shape[-1] != 3:
        raise ValueError(
            f"frames must have shape (B, V, H, W, 3) or (B, H, W, 3) uint8 RGB, got {tuple(t.shape)}. "
            "Drop an alpha channel with frames[..., :3]."
        )
    return t


class Backbone:
    """A frozen (or trainable) image encoder with its own preprocessing.

    Attributes:
        name: registry name, e.g. 'efficientnet_lite0'.
        model: the ``nn.Module`` mapping preprocessed (N, 3, S, S) -> (N, D) features.
        embed_dim: D.
        device: where the model lives and where ``encode`` returns features.
        input_size: S, the square input side after preprocessing.
        preprocess: the :class:`Preprocess` declared for this backbone.
        trainable: True if meant to be trained (only ``small_cnn``); frozen backbones have requires_grad=False.
        identity: short hash of name + weights + preprocessing + dtype, the embedding-cache key.
    """

    def __init__(
        self,
        name: str,
        model: nn.Module,
        embed_dim: int,
        preprocess: Preprocess,
        device: torch.device,
        half: bool,
        weights_tag: str,
        trainable: bool = False,
        batch_size: int = 32,
        model_name: str = "",
    ) -> None:
        self.name = name
        self.model_name = model_name
        self.embed_dim = int(embed_dim)
        self.preprocess = preprocess
        self.device = device
        self.dtype = torch.float16 if half else torch.float32
        self.trainable = trainable
        self.batch_size = batch_size
        self.weights_tag = weights_tag
        self.model = model.to(device=device, dtype=self.dtype).eval()
        if not trainable:
            self.model.requires_grad_(False)
        self._static_identity = self._hash(weights_tag)

    @property
    def input_size(self) -> int:
        return self.preprocess.size

    def _hash(self, weights_tag: str) -> str:
        text = "|".join(
            [self.name, self.model_name, weights_tag, self.preprocess.describe(), str(self.dtype), str(self.embed_dim)]
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def identity(self) -> str:
        """Cache key. For trainable backbones it follows the current parameter values (cheap: small nets)."""
        if not self.trainable:
            return self._static_identity
        h = hashlib.sha256()
        for key, tensor in sorted(self.model.state_dict().items()):
            h.update(key.encode())
            h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        return self._hash("params:" + h.hexdigest()[:16])

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Preprocessed (N, 3, S, S) on ``device`` -> (N, D) float32. Keeps autograd (for training small_cnn)."""
        return self.model(x.to(self.dtype)).float()

    def encode(self, frames: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Encode a batch of frames in one forward pass.

        Args:
            frames: (B, V, H, W, 3) or (B, H, W, 3) uint8 RGB, numpy or torch.

        Returns:
            (B, V, D) or (B, D) float32 on ``self.device``.
        """
        t = as_uint8_frames(frames)
        lead = t.shape[:-3]
        flat = t.reshape(-1, *t.shape[-3:])
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.inference_mode():
                x = self.preprocess(flat.to(self.device, non_blocking=True), dtype=self.dtype)
                feats = self.model(x).float()
        finally:
            self.model.train(was_training)
        # clone outside inference mode: a normal tensor that downstream heads can use under autograd
        return feats.clone().reshape(*lead, self.embed_dim)

    def encode_frames(self, frames: np.ndarray | torch.Tensor, batch_size: int | None = None) -> np.ndarray:
        """Encode many frames of one view in batches.

        Args:
            frames: (N, H, W, 3) uint8 RGB.
            batch_size: frames per forward pass (default: the configured batch size).

        Returns:
            (N, D) float32 numpy array.
        """
        t = as_uint8_frames(frames)
        if t.ndim != 4:
            raise ValueError(f"encode_frames expects (N, H, W, 3) frames of one view, got {tuple(t.shape)}.")
        bs = batch_size or self.batch_size
        out = np.empty((t.shape[0], self.embed_dim), dtype=np.float32)
        for start in range(0, t.shape[0], bs):
            out[start : start + bs] = self.encode(t[start : start + bs]).cpu().numpy()
        return out

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, model={self.model_name!r}, embed_dim={self.embed_dim}, "
            f"input_size={self.input_size}, device={self.device}, dtype={self.dtype}, identity={self.identity!r})"
        )

