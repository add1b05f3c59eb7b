"""Stage discovery, keyframes and progress labels."""

from __future__ import annotations

import numpy as np
import pytest

from robo_reward.adapt.errors import InputError
from robo_reward.adapt.segment import discover_stages, load_keyframes, progress_labels
from robo_reward.data.episodes import StageSpan
from adapt_helpers import PixelEncoder, fade_frames, write
from robo_reward.data.video import read_video


@pytest.mark.parametrize("boundaries, n", [((20, 40), 60), ((25, 62), 90), ((30, 55, 80), 100), ((40, 100), 150)])
def test_discovery_finds_scripted_phase_boundaries(boundaries, n, tmp_path):
    frames, _ = read_video(write(tmp_path / "demo.mp4", fade_frames(n, boundaries)))  # through a real codec
    stages = discover_stages(PixelEncoder().encode_frames(frames))
    assert len(stages) == len(boundaries) + 1, stages
    starts = [s.start_frame for s in stages[1:]]
    assert np.all(np.abs(np.array(starts) - np.array(boundaries)) <= 3), (starts, boundaries)
    assert stages[0].start_frame == 0 and stages[-1].end_frame == n - 1
    assert all(a.end_frame + 1 == b.start_frame for a, b in zip(stages, stages[1:]))


def test_discovery_on_noise_and_static_video_gives_one_stage():
    rng = np.random.default_rng(0)
    assert len(discover_stages(rng.normal(size=(100, 64)))) == 1
    assert len(discover_stages(np.ones((40, 8)))) == 1
    assert discover_stages(np.ones((2, 8))) == [StageSpan("step_1", 0, 1)]


def test_discovery_constant_model_on_piecewise_constant_states():
    x = np.repeat(np.eye(4)[:3] * 5, [30, 10, 20], axis=0) + np.random.default_rng(1).normal(scale=0.1, size=(60, 4))
    stages = discover_stages(x, model="constant")
    assert [s.start_frame for s in stages] == [0, 30, 40]


def test_progress_labels_are_stage_linear_and_cover_gaps():
    stages = [StageSpan("a", 0, 9), StageSpan("b", 10, 29)]
    y = progress_labels(stages, 30)
    assert y[0] == 0.0 and y[9] == pytest.approx(0.5) and y[29] == pytest.approx(1.0)
    assert y[19] == pytest.approx(0.5 + 0.5 * (19 - 10) / 19)
    assert np.all(np.diff(y) >= 0)
    # a gap between stages is interpolated, frames after the last stage are 1
    y = progress_labels([StageSpan("a", 5, 9), StageSpan("b", 20, 24)], 30)
    assert y[:6].tolist() == [0.0] * 6 and y[15] == pytest.approx(0.5) and np.all(y[24:] == 1.0)


def test_load_keyframes_accepts_episode_meta(tmp_path):
    p = tmp_path / "meta.json"
    p.write_text('{"stages": [{"stage": "reach", "start_frame": 0, "end_frame": 4}, {"stage": "lift", "start_frame": 5, "end_frame": 9}]}')
    assert load_keyframes(p, 10) == [StageSpan("reach", 0, 4), StageSpan("lift", 5, 9)]
    with pytest.raises(InputError, match="start_frame <= end_frame"):
        p.write_text('[{"stage": "a", "start_frame": 5, "end_frame": 2}]')
        load_keyframes(p, 10)
