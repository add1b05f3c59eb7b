"""The Backbone interface on the fast small_cnn: shapes, dtypes, preprocessing, determinism, config, registry."""

from __future__ import annotations

import subprocess
import sys
import typing

import numpy as np
import pytest
import torch

from robo_reward.backbones import (
    BACKBONES,
    BackboneConfig,
    BackboneName,
    Preprocess,
    available_backbones,
    build_backbone,
    resolve_device,
)


@pytest.fixture(scope="module")
def cnn():
    return build_backbone(BackboneConfig(name="small_cnn", batch_size=3))


def test_encode_shapes_and_dtypes(cnn, frames):
    out = cnn.encode(frames)
    assert out.shape == (2, 2, cnn.embed_dim) and out.dtype == torch.float32 and out.device == cnn.device
    single = cnn.encode(frames[:, 1])
    assert single.shape == (2, cnn.embed_dim)
    torch.testing.assert_close(single, out[:, 1])
    torch.testing.assert_close(cnn.encode(torch.from_numpy(frames)), out)  # torch input == numpy input


def test_features_can_feed_a_trained_head(cnn, frames):
    feats = cnn.encode(frames)  # computed under inference_mode, but returned as a normal tensor
    assert not feats.is_inference() and not feats.requires_grad
    head = torch.nn.Linear(cnn.embed_dim, 1)
    head(feats).sum().backward()
    assert head.weight.grad is not None and head.weight.grad.abs().sum() > 0


def test_encode_is_deterministic_and_batching_invariant(cnn, frames):
    flat = frames.reshape(-1, *frames.shape[-3:])
    a = cnn.encode_frames(flat)  # batch_size 3 -> batches of 3 + 1
    b = cnn.encode_frames(flat, batch_size=1)
    assert a.dtype == np.float32 and a.shape == (4, cnn.embed_dim)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(a, cnn.encode_frames(flat))
    assert np.linalg.norm(a[0] - a[1]) > 1e-4  # different frames -> different features


def test_same_seed_same_model_and_identity():
    a = build_backbone(BackboneConfig(name="small_cnn"))
    b = build_backbone(BackboneConfig(name="small_cnn"))
    c = build_backbone(BackboneConfig(name="small_cnn", seed=1))
    x = np.random.default_rng(1).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    np.testing.assert_array_equal(a.encode_frames(x), b.encode_frames(x))
    assert a.identity == b.identity != c.identity
    assert build_backbone(BackboneConfig(name="small_cnn", image_size=64)).identity != a.identity


def test_bad_frames_give_clear_errors(cnn):
    with pytest.raises(TypeError, match="uint8"):
        cnn.encode(np.zeros((1, 8, 8, 3), np.float32))
    with pytest.raises(ValueError, match=r"\(B, V, H, W, 3\).*alpha"):
        cnn.encode(np.zeros((1, 8, 8, 4), np.uint8))
    with pytest.raises(ValueError, match="one view"):
        cnn.encode_frames(np.zeros((1, 2, 8, 8, 3), np.uint8))


def test_preprocess_resizes_shorter_side_and_centre_crops():
    pre = Preprocess(size=4, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
    img = np.zeros((1, 4, 8, 3), np.uint8)
    img[:, :, 2:6] = 255  # bright centre columns, dark left/right borders
    x = pre(torch.from_numpy(img))
    assert x.shape == (1, 3, 4, 4) and x.dtype == torch.float32
    torch.testing.assert_close(x, torch.ones_like(x))  # only the centre 4x4 survives, scaled to [0, 1]
    big = np.full((2, 30, 50, 3), 128, np.uint8)
    y = Preprocess(size=16, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), crop_pct=0.8)(torch.from_numpy(big))
    assert y.shape == (2, 3, 16, 16)
    torch.testing.assert_close(y, torch.full_like(y, (128 / 255 - 0.5) / 0.25), atol=1e-4, rtol=0)


def test_small_cnn_is_trainable_and_identity_follows_params(cnn):
    b = build_backbone(BackboneConfig(name="small_cnn"))
    assert b.trainable and all(p.requires_grad for p in b.model.parameters())
    x = b.preprocess(torch.from_numpy(np.random.default_rng(2).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)))
    b.model.train()
    b.embed(x).pow(2).mean().backward()
    grads = [p.grad for p in b.model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads) and any(g.abs().sum() > 0 for g in grads)
    before = b.identity
    with torch.no_grad():
        next(b.model.parameters()).add_(0.1)
    assert b.identity != before


def test_config_validation_messages():
    with pytest.raises(ValueError, match="Expected one of: efficientnet_lite0, clip, dino, small_cnn"):
        BackboneConfig(name="resnet")  # type: ignore[arg-type]
    assert BackboneConfig(name="clip").name is BackboneName.clip  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="image_size"):
        BackboneConfig(image_size=4)
    with pytest.raises(ValueError, match="batch_size"):
        BackboneConfig(batch_size=0)
    with pytest.raises(ValueError, match="not a device"):
        BackboneConfig(device="gpu0")


def test_registry_is_the_one_map_of_names():
    assert set(available_backbones()) == {m.value for m in BackboneName} == {k.value for k in BACKBONES}
    hints = typing.get_type_hints(BackboneConfig)
    assert hints["name"] is BackboneName


def test_device_auto_and_half_policy(cnn):
    expect = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expect and cnn.device.type == expect
    assert cnn.dtype == (torch.float16 if expect == "cuda" else torch.float32)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")


def test_import_loads_no_model_libraries():
    code = (
        "import sys, robo_reward.backbones; "
        "print(sorted(m for m in ('open_clip', 'timm', 'sentence_transformers', 'efficientnet_lite_pytorch') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]"
