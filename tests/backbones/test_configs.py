"""configs/backbone/*.yaml and configs/text_encoder/*.yaml map 1:1 onto the dataclasses (as the CLI validates)."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf
from omegaconf.errors import ConfigKeyError, ValidationError

from robo_reward.backbones import (
    BackboneConfig,
    BackboneName,
    TextEncoderConfig,
    TextEncoderName,
    available_backbones,
    build_backbone,
)

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def _load(cls, path):
    return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(cls), OmegaConf.load(path)))


def test_every_backbone_has_a_yaml_that_validates():
    files = sorted((CONFIGS / "backbone").glob("*.yaml"))
    assert {f.stem for f in files} == set(available_backbones())
    for f in files:
        cfg = _load(BackboneConfig, f)
        assert isinstance(cfg, BackboneConfig) and cfg.name is BackboneName(f.stem)


def test_every_text_encoder_has_a_yaml_that_validates():
    files = sorted((CONFIGS / "text_encoder").glob("*.yaml"))
    assert {f.stem for f in files} == {m.value for m in TextEncoderName}
    for f in files:
        cfg = _load(TextEncoderConfig, f)
        assert isinstance(cfg, TextEncoderConfig) and cfg.name is TextEncoderName(f.stem)


def test_default_yaml_builds_the_offline_backbone():
    cfg = _load(BackboneConfig, CONFIGS / "backbone" / "small_cnn.yaml")
    assert build_backbone(cfg).embed_dim == 256
    assert _load(BackboneConfig, CONFIGS / "backbone" / "efficientnet_lite0.yaml") == BackboneConfig(model_name="efficientnet-lite0")


def test_bad_overrides_fail_at_validation():
    base = OmegaConf.structured(BackboneConfig)
    with pytest.raises(ValidationError, match="small_cnn"):  # the error lists the valid names
        OmegaConf.merge(base, {"name": "resnet"})
    with pytest.raises(ConfigKeyError):
        OmegaConf.merge(base, {"weight": "x"})
    with pytest.raises(ValidationError):
        OmegaConf.merge(base, {"image_size": "big"})
    with pytest.raises(ValueError, match="image_size"):
        OmegaConf.to_object(OmegaConf.merge(base, {"image_size": 3}))
