"""Weight files: safe loading, clear errors, save/load round trip, hub tags fail fast offline."""

from __future__ import annotations

import pickle
import time

import numpy as np
import pytest
from robo_reward.backbones import BackboneConfig, WeightsUnavailableError, build_backbone, load_state_file, save_weights


class _Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_missing_weight_file_names_the_file(tmp_path):
    missing = tmp_path / "nope.safetensors"
    for name in ("small_cnn", "efficientnet_lite0", "dino", "clip"):
        with pytest.raises(FileNotFoundError, match="nope.safetensors"):
            build_backbone(BackboneConfig(name=name, weights=str(missing), image_size=32))  # type: ignore[arg-type]


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_corrupt_weight_file_names_the_file(tmp_path, suffix):
    bad = tmp_path / f"broken{suffix}"
    bad.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(ValueError, match=f"broken\\{suffix}.*corrupt"):
        build_backbone(BackboneConfig(name="small_cnn", weights=str(bad)))  # type: ignore[arg-type]


def test_truncated_checkpoint_and_unsafe_pickle_are_rejected(tmp_path):
    b = build_backbone(BackboneConfig(name="small_cnn"))
    good = save_weights(b, tmp_path / "w.safetensors")
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ValueError, match="cut.safetensors"):
        load_state_file(cut)
    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps({"w": _Evil()}, protocol=2))
    with pytest.raises(ValueError, match="evil.pt.*weights_only"):
        load_state_file(evil)


def test_mismatched_weight_file_lists_keys(tmp_path):
    path = save_weights(build_backbone(BackboneConfig(name="small_cnn")), tmp_path / "cnn.safetensors")
    with pytest.raises(ValueError, match="cnn.safetensors.*does not match efficientnet-lite0.*missing keys"):
        build_backbone(BackboneConfig(name="efficientnet_lite0", weights=str(path)))  # type: ignore[arg-type]


def test_save_and_reload_round_trip(tmp_path):
    a = build_backbone(BackboneConfig(name="small_cnn", seed=3))
    path = save_weights(a, tmp_path / "sub" / "cnn.safetensors")
    assert not list(path.parent.glob("*.tmp"))
    b = build_backbone(BackboneConfig(name="small_cnn", weights=str(path)))  # type: ignore[arg-type]
    x = np.random.default_rng(0).integers(0, 256, (3, 40, 40, 3), dtype=np.uint8)
    np.testing.assert_array_equal(a.encode_frames(x), b.encode_frames(x))
    assert not np.array_equal(build_backbone(BackboneConfig(name="small_cnn")).encode_frames(x), b.encode_frames(x))
    with pytest.raises(ValueError, match=".safetensors"):
        save_weights(a, tmp_path / "cnn.pt")


def test_efficientnet_weights_round_trip_through_safetensors(tmp_path):
    a = build_backbone(BackboneConfig(image_size=64))
    path = save_weights(a, tmp_path / "eff.safetensors")
    b = build_backbone(BackboneConfig(weights=str(path), image_size=64))  # type: ignore[arg-type]
    x = np.random.default_rng(0).integers(0, 256, (2, 64, 64, 3), dtype=np.uint8)
    np.testing.assert_array_equal(a.encode_frames(x), b.encode_frames(x))
    assert a.identity != b.identity  # different files, even with equal tensors


@pytest.mark.parametrize(
    ("name", "model", "weights"),
    [("clip", "ViT-B-32", "laion2b_s34b_b79k"), ("dino", "vit_small_patch16_224.dino", "pretrained")],
)
def test_hub_tag_fails_fast_offline_with_instructions(name, model, weights, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))  # an empty cache: nothing to find
    t0 = time.perf_counter()
    with pytest.raises(WeightsUnavailableError, match="HF_HUB_OFFLINE=1.*local .safetensors.*HF cache"):
        build_backbone(BackboneConfig(name=name, model_name=model, weights=weights))  # type: ignore[arg-type]
    assert time.perf_counter() - t0 < 5.0


def test_hub_tag_fails_fast_when_hub_unreachable(monkeypatch, tmp_path):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # discard port: connection refused at once
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    t0 = time.perf_counter()
    with pytest.raises(WeightsUnavailableError, match="unreachable"):
        build_backbone(BackboneConfig(name="dino", model_name="vit_small_patch16_224.dino", weights="pretrained"))
    assert time.perf_counter() - t0 < 10.0


def test_unknown_pretrained_tag_lists_known_tags():
    with pytest.raises(ValueError, match="Known tags: .*openai"):
        build_backbone(BackboneConfig(name="clip", model_name="ViT-B-32", weights="no_such_tag"))
