"""CLIP (open_clip) and DINO (timm) backbones: random-init architectures round-trip through local checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from robo_reward.backbones import BackboneConfig, build_backbone, save_weights

pytest.importorskip("open_clip")
pytest.importorskip("timm")

X = np.random.default_rng(0).integers(0, 256, (3, 48, 64, 3), dtype=np.uint8)
ARCHS = {"clip": ("ViT-S-32", 384), "dino": ("vit_small_patch16_224.dino", 384)}


def _save(name, tmp_path_factory):
    """(family, random-init backbone at 64 px, its features on X, path of its saved weights)."""
    b = build_backbone(BackboneConfig(name=name, model_name=ARCHS[name][0], image_size=64))  # type: ignore[arg-type]
    path = save_weights(b, tmp_path_factory.mktemp(name) / f"{name}.safetensors")
    return name, b, b.encode_frames(X), path


@pytest.fixture(scope="module")
def saved_clip(tmp_path_factory):
    return _save("clip", tmp_path_factory)


@pytest.fixture(scope="module")
def saved_dino(tmp_path_factory):
    return _save("dino", tmp_path_factory)


@pytest.fixture(params=sorted(ARCHS))
def saved(request):
    return request.getfixturevalue(f"saved_{request.param}")


def test_random_init_backbone_contract(saved):
    name, b, feats, _ = saved
    assert b.name == name and b.embed_dim == ARCHS[name][1] and b.input_size == 64 and not b.trainable
    assert feats.shape == (3, b.embed_dim) and feats.dtype == np.float32 and np.isfinite(feats).all()
    assert np.abs(feats[0] - feats[1]).max() > 1e-4
    assert b.encode(torch.from_numpy(X[:1])).dtype == torch.float32


def test_round_trip_through_local_checkpoint_gives_identical_outputs(saved):
    name, a, feats, path = saved
    # another seed: if the file were not loaded, the random init would differ
    b = build_backbone(
        BackboneConfig(name=name, model_name=ARCHS[name][0], image_size=64, weights=str(path), seed=123)  # type: ignore[arg-type]
    )
    np.testing.assert_array_equal(feats, b.encode_frames(X))
    assert b.identity != a.identity  # weights named by file hash, random init by seed


def test_clip_preprocessing_is_declared_from_open_clip(saved_clip):
    _, b, _, _ = saved_clip
    assert b.preprocess.mean == pytest.approx((0.48145466, 0.4578275, 0.40821073))
    assert b.preprocess.interpolation == "bicubic" and b.preprocess.crop_pct == 1.0


def test_dino_checkpoint_loads_at_another_image_size(saved_dino):
    """timm resamples the position embeddings when the checkpoint was saved at another resolution."""
    name, _, feats, path = saved_dino
    b = build_backbone(BackboneConfig(name="dino", model_name=ARCHS[name][0], image_size=96, weights=str(path)))
    assert b.input_size == 96 and b.preprocess.crop_pct == pytest.approx(0.9)
    out = b.encode_frames(X)
    assert out.shape == (3, 384) and np.isfinite(out).all() and not np.allclose(out, feats)


def test_pretrained_tag_resolves_from_local_hf_cache_offline(saved_dino, tmp_path, monkeypatch):
    """weights='pretrained' finds timm's hub file in the HF cache without any network (HF_HUB_OFFLINE=1)."""
    _, _, feats, path = saved_dino
    snapshot = tmp_path / "models--timm--vit_small_patch16_224.dino" / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    (snapshot / "model.safetensors").write_bytes(path.read_bytes())
    (tmp_path / "models--timm--vit_small_patch16_224.dino" / "refs").mkdir()
    (tmp_path / "models--timm--vit_small_patch16_224.dino" / "refs" / "main").write_text("0" * 40)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    b = build_backbone(
        BackboneConfig(name="dino", model_name=ARCHS["dino"][0], image_size=64, weights="pretrained", seed=9)
    )
    np.testing.assert_array_equal(b.encode_frames(X), feats)


def test_full_clip_checkpoint_feeds_image_and_text_towers(tmp_path):
    """A full open_clip checkpoint (.pt, loaded with weights_only=True) serves both the image and text towers."""
    import open_clip
    import torch.nn.functional as F

    from robo_reward.backbones import TextEncoderConfig, build_text_encoder
    from robo_reward.backbones.clip import create_clip, resolve_checkpoint

    arch = "ViT-S-32-alt"
    full = create_clip(arch, resolve_checkpoint(arch, None, seed=7), seed=7).eval()
    path = tmp_path / "full_clip.pt"
    torch.save(full.state_dict(), path)
    b = build_backbone(BackboneConfig(name="clip", model_name=arch, weights=str(path)))  # type: ignore[arg-type]
    with torch.no_grad():
        expected = full.encode_image(b.preprocess(torch.from_numpy(X[:2])))
    np.testing.assert_allclose(b.encode_frames(X[:2]), expected.numpy(), atol=1e-5, rtol=1e-5)
    enc = build_text_encoder(TextEncoderConfig(name="clip", model_name=arch, weights=str(path)))  # type: ignore[arg-type]
    with torch.no_grad():
        expected_t = F.normalize(full.encode_text(open_clip.get_tokenizer(arch)(["stack the cubes"])), dim=-1)
    torch.testing.assert_close(enc.encode(["stack the cubes"]), expected_t, atol=1e-5, rtol=1e-5)
