"""The offline default: EfficientNet-Lite0 with the packaged ImageNet weights has real semantics."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from robo_reward.backbones import BackboneConfig, build_backbone
from robo_reward.backbones.efficientnet import packaged_weights_path

MILITARY_UNIFORM = 652  # ImageNet class of matplotlib's sample photo of Grace Hopper


@pytest.fixture(scope="module")
def effnet():
    return build_backbone(BackboneConfig())  # the default config = efficientnet_lite0 + packaged weights


def _cos_dist(a: torch.Tensor, b: torch.Tensor) -> float:
    return 1.0 - float(F.cosine_similarity(a, b, dim=0))


def test_default_is_offline_pretrained_efficientnet(effnet):
    assert effnet.name == "efficientnet_lite0" and effnet.embed_dim == 1280 and effnet.input_size == 224
    assert not effnet.trainable and not any(p.requires_grad for p in effnet.model.parameters())
    assert Path(packaged_weights_path()).is_file()


def test_separates_different_scenes_more_than_near_duplicates(effnet, scenes):
    f = effnet.encode(np.stack([scenes["a"], scenes["a_near"], scenes["b"]]))
    d_same, d_diff = _cos_dist(f[0], f[1]), _cos_dist(f[0], f[2])
    # measured: d_same ~0.07, d_diff ~0.57
    assert d_same < 0.2 and d_diff > 0.4 and d_diff > 4 * d_same


def test_imagenet_classifier_on_its_features_recognises_a_real_photo(effnet):
    """Features + the checkpoint's own classifier -> correct ImageNet class: weights and preprocessing are right."""
    mpl = pytest.importorskip("matplotlib")
    photo = Path(mpl.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    if not photo.is_file():
        pytest.skip("matplotlib sample photo not installed")
    img = cv2.cvtColor(cv2.imread(str(photo)), cv2.COLOR_BGR2RGB)
    state = torch.load(packaged_weights_path(), map_location="cpu", weights_only=True)
    feats = effnet.encode(img[None]).cpu()
    logits = feats @ state["_fc.weight"].T + state["_fc.bias"]
    assert int(logits.argmax()) == MILITARY_UNIFORM
    random_net = build_backbone(BackboneConfig(weights="random"))
    random_logits = random_net.encode(img[None]).cpu() @ state["_fc.weight"].T + state["_fc.bias"]
    assert int(random_logits.argmax()) != MILITARY_UNIFORM
    # random init collapses: pooled features ~1e-7 in norm, versus O(10) for the trained net
    assert float(random_net.encode(img[None]).norm()) < 1e-3 < float(feats.norm())


def test_other_input_size_still_works(scenes):
    b = build_backbone(BackboneConfig(image_size=128))
    f = b.encode(np.stack([scenes["a"], scenes["a_near"], scenes["b"]]))
    assert b.input_size == 128 and f.shape == (3, 1280)
    assert _cos_dist(f[0], f[2]) > 4 * _cos_dist(f[0], f[1])
