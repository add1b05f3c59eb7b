"""The one backbone registry: name -> builder. Builders import their libraries and load weights only when called."""

from __future__ import annotations

import logging
from typing import Callable

from robo_reward.backbones.base import Backbone, BackboneConfig, BackboneName

logger = logging.getLogger(__name__)

Builder = Callable[[BackboneConfig], Backbone]


def _efficientnet_lite0(cfg: BackboneConfig) -> Backbone:
    from robo_reward.backbones import efficientnet

    return efficientnet.build(cfg)


def _clip(cfg: BackboneConfig) -> Backbone:
    from robo_reward.backbones import clip

    return clip.build(cfg)


def _dino(cfg: BackboneConfig) -> Backbone:
    from robo_reward.backbones import dino

    return dino.build(cfg)


def _small_cnn(cfg: BackboneConfig) -> Backbone:
    from robo_reward.backbones import small_cnn

    return small_cnn.build(cfg)


BACKBONES: dict[BackboneName, Builder] = {
    BackboneName.efficientnet_lite0: _efficientnet_lite0,
    BackboneName.clip: _clip,
    BackboneName.dino: _dino,
    BackboneName.small_cnn: _small_cnn,
}


def available_backbones() -> tuple[str, ...]:
    """Registered backbone names."""
    return tuple(name.value for name in BACKBONES)


def build_backbone(cfg: BackboneConfig) -> Backbone:
    """Build (and load the weights of) the backbone named by ``cfg.name``.

    Raises:
        ValueError: unknown name (lists the choices), bad weights value, or mismatched weight file.
        FileNotFoundError: a local weight file does not exist.
        WeightsUnavailableError: a hub tag whose weights are not cached locally while offline.
    """
    name = BackboneName(cfg.name.value if isinstance(cfg.name, BackboneName) else cfg.name)
    backbone = BACKBONES[name](cfg)
    logger.info("Built backbone %r", backbone)
    return backbone
