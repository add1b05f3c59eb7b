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


def test_pool_grid_keeps_where_things_are():
    """pool_grid=g: the g x g cell averages of the same feature map (at 128 px the map is 4 x 4, so the cells tile
    it and their mean is the global feature), and two images that differ only by where a patch is are told apart
    better than by the global average."""
    flat_net = build_backbone(BackboneConfig(image_size=128))
    g = build_backbone(BackboneConfig(image_size=128, pool_grid=2))
    assert g.embed_dim == 4 * 1280 and g.identity != flat_net.identity
    img = np.full((2, 128, 128, 3), 90, np.uint8)
    img[0, 10:50, 10:50] = (220, 30, 30)  # a red square top-left ...
    img[1, 78:118, 78:118] = (220, 30, 30)  # ... or bottom-right
    grid = g.encode(img).cpu().view(2, 1280, 2, 2)
    flat = flat_net.encode(img).cpu()
    torch.testing.assert_close(grid.mean(dim=(2, 3)), flat, atol=1e-4, rtol=1e-4)
    d_flat = _cos_dist(flat[0], flat[1])
    d_grid = _cos_dist(grid[0].flatten(), grid[1].flatten())
    assert d_grid > 2 * d_flat
    with pytest.raises(ValueError, match="pool_grid"):
        BackboneConfig(pool_grid=5)
    with pytest.raises(ValueError, match="efficientnet_lite0 only"):
        BackboneConfig(name="small_cnn", pool_grid=2)
