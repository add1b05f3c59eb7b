"""Adapt is deterministic for a fixed seed; the goal-distance baseline behaves as specified."""

from __future__ import annotations

import numpy as np
import pytest
from safetensors.numpy import load_file
from scipy.stats import spearmanr

from robo_reward.adapt.baselines import GoalDistanceBaseline
from robo_reward.adapt.cli import adapt_main
from adapt_helpers import PixelEncoder, fade_frames


def _adapt(videos, out, seed: int) -> dict[str, np.ndarray]:
    assert adapt_main(["--demo", str(videos["two"]), "--task", "t", "--out", str(out), "--seed", str(seed)]) == 0
    return load_file(str(out / "model.safetensors"))


def test_adapt_is_deterministic_for_a_seed(tiny_encoder, videos, tmp_path):
    a, b, c = (_adapt(videos, tmp_path / n, s) for n, s in (("a", 3), ("b", 3), ("c", 4)))
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert any(not np.array_equal(a[k], c[k]) for k in a if k.startswith("heads."))


def test_goal_distance_baseline():
    enc = PixelEncoder()
    demo = {"cam": enc.encode_frames(fade_frames(60, (20, 40)))}
    base = GoalDistanceBaseline.from_demo(demo)
    out = base.score(demo)
    p = out.progress.numpy()
    assert p[0] == pytest.approx(0.0) and p[-1] == pytest.approx(1.0)
    assert p.min() >= 0 and p.max() <= 1
    assert spearmanr(np.arange(60), p).statistic > 0.95
    rev = base.score({"cam": demo["cam"][::-1]}).progress.numpy()
    # a reversed episode starts at the goal: progress 1 at frame 0, then ~0 as it moves away
    assert rev[0] == pytest.approx(1.0) and rev[1:].max() < 0.1
    with pytest.raises(ValueError, match="at least one view"):
        GoalDistanceBaseline({})
