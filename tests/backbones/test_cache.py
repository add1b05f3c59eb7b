"""EmbeddingCache: identical features on hits, invalidation on changed video/backbone, concurrent writers."""

from __future__ import annotations

import hashlib
import multiprocessing as mp

import numpy as np
import pytest

from robo_reward.backbones import BackboneConfig, EmbeddingCache, build_backbone
from robo_reward.data.video import write_video


@pytest.fixture(scope="module")
def cnn():
    return build_backbone(BackboneConfig(name="small_cnn"))


def _video_frames(seed: int, t: int = 6) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (1, 8, 8, 3)).astype(np.uint8).repeat(t, 0)
    return np.kron(base, np.ones((1, 6, 6, 1), np.uint8))  # (T, 48, 48, 3) blocky frames survive mp4 compression


def test_video_hit_returns_identical_features(tmp_path, cnn):
    video = write_video(tmp_path / "ep.mp4", _video_frames(0), fps=10)
    cache = EmbeddingCache(tmp_path / "cache")
    first = cache.get_video(video, cnn)
    assert first.shape == (6, cnn.embed_dim) and first.dtype == np.float32
    assert cache.stats() == {"hits": 0, "misses": 1}
    second = cache.get_video(video, cnn)
    np.testing.assert_array_equal(first, second)
    assert cache.stats() == {"hits": 1, "misses": 1}
    assert EmbeddingCache(tmp_path / "cache").get_video(video, cnn).tobytes() == first.tobytes()  # persists on disk


def test_changed_video_or_backbone_is_a_miss(tmp_path, cnn):
    video = tmp_path / "ep.mp4"
    write_video(video, _video_frames(0), fps=10)
    cache = EmbeddingCache(tmp_path / "cache")
    old = cache.get_video(video, cnn)
    write_video(video, _video_frames(1), fps=10)  # same path, new content
    new = cache.get_video(video, cnn)
    assert cache.misses == 2 and cache.hits == 0
    assert np.abs(new - old).max() > 1e-4
    other = build_backbone(BackboneConfig(name="small_cnn", seed=5))
    cache.get_video(video, other)
    assert cache.misses == 3


def test_get_array_and_corrupt_entry(tmp_path, cnn):
    cache = EmbeddingCache(tmp_path)
    frames = _video_frames(2, t=4)
    a = cache.get_array("episode_0/front", frames, cnn)
    np.testing.assert_allclose(a, cnn.encode_frames(frames), rtol=1e-6, atol=1e-6)
    assert np.array_equal(cache.get_array("episode_0/front", frames, cnn), a) and cache.hits == 1
    entry = cache.entry_path(hashlib.sha256(b"array:episode_0/front").hexdigest(), cnn)
    entry.write_bytes(b"truncated")
    np.testing.assert_array_equal(cache.get_array("episode_0/front", frames, cnn), a)
    assert cache.misses == 2  # the corrupt entry was recomputed
    assert cache.get_array("episode_0/front", frames[:2], cnn).shape == (2, cnn.embed_dim)  # stale length -> recompute
    assert cache.misses == 3


class _NumpyBackbone:
    """Duck-typed backbone for the writer processes: deterministic numpy features, no torch compute after fork.

    ``encode_frames`` waits on a barrier shared by both writers, so both are inside the miss path of the same key
    at the same moment and both write that entry.
    """

    name, identity, embed_dim = "fake", "fake-identity", 8

    def __init__(self, barrier) -> None:
        self.barrier = barrier

    def encode_frames(self, frames, batch_size=None) -> np.ndarray:
        self.barrier.wait(timeout=30)
        x = np.asarray(frames, dtype=np.float32).reshape(len(frames), -1)
        return np.stack([x[:, i::8].mean(1) for i in range(8)], axis=1)


def _frames(i: int) -> np.ndarray:
    return np.random.default_rng(i).integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)


def _writer(root: str, barrier, misses) -> None:
    cache = EmbeddingCache(root)
    backbone = _NumpyBackbone(barrier)
    for i in range(20):
        cache.get_array(f"key{i}", _frames(i), backbone)  # type: ignore[arg-type]
    misses.put(cache.misses)


def test_two_concurrent_writers(tmp_path):
    ctx = mp.get_context("fork")
    barrier, misses = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), barrier, misses)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
    assert [p.exitcode for p in procs] == [0, 0]
    assert misses.get(timeout=5) == misses.get(timeout=5) == 20  # both processes wrote every entry
    assert not list(tmp_path.rglob("*.tmp"))  # temp files were all renamed or removed
    cache = EmbeddingCache(tmp_path)
    reader = _NumpyBackbone(None)
    for i in range(20):
        expected = np.stack([_frames(i).astype(np.float32).reshape(3, -1)[:, j::8].mean(1) for j in range(8)], 1)
        np.testing.assert_array_equal(cache.get_array(f"key{i}", _frames(i), reader), expected)  # type: ignore[arg-type]
    assert cache.stats() == {"hits": 20, "misses": 0}


def test_crash_mid_write_leaves_no_partial_entry(tmp_path, cnn, monkeypatch):
    import safetensors.numpy

    def broken_save(tensors, filename, metadata=None):
        with open(filename, "wb") as f:
            f.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.numpy, "save_file", broken_save)
    cache = EmbeddingCache(tmp_path)
    with pytest.raises(OSError, match="disk full"):
        cache.get_array("k", _video_frames(3, t=2), cnn)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]  # neither the entry nor the temp file exists
