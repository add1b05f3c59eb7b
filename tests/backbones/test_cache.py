"""EmbeddingCache: identical features on hits, invalidation on changed video/backbone, concurrent writers."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

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
    entry = cache.entry_path(__import__("hashlib").sha256(b"array:episode_0/front").hexdigest(), cnn)
    entry.write_bytes(b"truncated")
    np.testing.assert_array_equal(cache.get_array("episode_0/front", frames, cnn), a)
    assert cache.misses == 2  # the corrupt entry was recomputed
    assert cache.get_array("episode_0/front", frames[:2], cnn).shape == (2, cnn.embed_dim)  # stale length -> recompute
    assert cache.misses == 3


_WORKER = textwrap.dedent(
    """
    import sys, os, time, numpy as np
    from robo_reward.backbones import BackboneConfig, EmbeddingCache, build_backbone
    root, go = sys.argv[1], sys.argv[2]
    cnn = build_backbone(BackboneConfig(name="small_cnn"))
    cache = EmbeddingCache(root)
    while not os.path.exists(go):
        time.sleep(0.005)
    for i in range(30):
        frames = np.random.default_rng(i).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
        cache.get_array(f"key{i}", frames, cnn)
    print(cache.misses)
    """
)


def test_two_concurrent_writers(tmp_path, cnn):
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [
        subprocess.Popen([sys.executable, "-c", _WORKER, str(tmp_path / "c"), str(go)], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    time.sleep(0.5)
    go.touch()
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _, err in outs]
    assert sum(int(out.split()[-1]) for out, _ in outs) >= 30  # every key computed at least once
    assert not list((tmp_path / "c").rglob("*.tmp"))
    cache = EmbeddingCache(tmp_path / "c")
    for i in range(30):
        frames = np.random.default_rng(i).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
        np.testing.assert_allclose(cache.get_array(f"key{i}", frames, cnn), cnn.encode_frames(frames), atol=1e-6)
    assert cache.stats() == {"hits": 30, "misses": 0}
