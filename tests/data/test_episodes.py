"""Episode format: round trip, and errors that name the file and the problem."""

import json

import numpy as np
import pytest

from robo_reward.data import (
    Episode,
    EpisodeDataset,
    EpisodeFormatError,
    StageSpan,
    read_episode,
    reversed_episode,
    write_episode,
)
from robo_reward.data.video import read_video, write_video


def make_episode(t: int = 12, views=("front", "wrist"), size: int = 48) -> Episode:
    rng = np.random.default_rng(0)
    frames = {}
    for k, v in enumerate(views):
        base = np.zeros((t, size, size, 3), np.uint8)
        for i in range(t):  # a block that moves across the image: smooth content survives the codec
            x = 4 + i * 2
            base[i, 10:30, x : x + 12] = (200, 60 + 40 * k, 30)
        frames[v] = base
    return Episode(
        task="pick_place",
        instruction="put the red cube on the green target",
        fps=10.0,
        outcome="success",
        frames=frames,
        states=rng.normal(size=(t, 5)).astype(np.float32),
        actions=rng.normal(size=(t, 4)).astype(np.float32),
        stages=[StageSpan("approach", 0, t // 3 - 1), StageSpan("grasp", t // 3, 2 * t // 3 - 1), StageSpan("lift", 2 * t // 3, t - 1)],
        state_names=[f"s{i}" for i in range(5)],
        extra={"seed": 3, "failure_mode": None},
    )


def test_round_trip_metadata_exact_frames_within_codec_tolerance(tmp_path):
    ep = make_episode()
    path = write_episode(tmp_path / "ep0", ep)
    back = read_episode(path)
    assert back.task == ep.task and back.instruction == ep.instruction and back.outcome == ep.outcome
    assert back.fps == ep.fps and back.views == ep.views and back.num_frames == ep.num_frames
    assert back.stages == ep.stages and back.state_names == ep.state_names and back.extra == ep.extra
    np.testing.assert_allclose(back.states, ep.states, atol=1e-6)
    np.testing.assert_allclose(back.actions, ep.actions, atol=1e-6)
    for v in ep.views:
        err = np.abs(back.frames[v].astype(np.int16) - ep.frames[v].astype(np.int16))
        assert err.mean() < 4.0, f"{v}: mean abs error {err.mean():.2f} above codec tolerance"


def test_metadata_only_read_checks_frame_counts(tmp_path):
    path = write_episode(tmp_path / "ep0", make_episode())
    ep = read_episode(path, load_frames=False)
    assert ep.frames == {} and ep.num_frames == 12


def test_missing_view_file_names_the_file(tmp_path):
    path = write_episode(tmp_path / "ep0", make_episode())
    (path / "wrist.mp4").unlink()
    with pytest.raises(EpisodeFormatError, match=r"wrist\.mp4: missing video for view 'wrist'"):
        read_episode(path)


def test_truncated_video_names_the_file(tmp_path):
    path = write_episode(tmp_path / "ep0", make_episode(t=12))
    frames, fps = read_video(path / "front.mp4")
    write_video(path / "front.mp4", frames[:7], fps)
    with pytest.raises(EpisodeFormatError, match=r"front\.mp4: truncated video: 7 frames, meta.json says 12"):
        read_episode(path)


def test_corrupt_video_names_the_file(tmp_path):
    path = write_episode(tmp_path / "ep0", make_episode())
    (path / "front.mp4").write_bytes(b"not a video at all")
    with pytest.raises(EpisodeFormatError, match=r"front\.mp4"):
        read_episode(path)


def test_views_disagreeing_on_frame_count(tmp_path):
    ep = make_episode()
    ep.frames["wrist"] = ep.frames["wrist"][:-2]
    with pytest.raises(EpisodeFormatError, match="views disagree on frame count"):
        write_episode(tmp_path / "ep0", ep)


def test_bad_outcome_and_overlapping_stages(tmp_path):
    ep = make_episode()
    ep.outcome = "great"
    with pytest.raises(EpisodeFormatError, match="outcome 'great' is not one of"):
        write_episode(tmp_path / "a", ep)
    ep = make_episode()
    ep.stages = [StageSpan("a", 0, 5), StageSpan("b", 5, 8)]
    with pytest.raises(EpisodeFormatError, match="stages must be ordered, non-overlapping"):
        write_episode(tmp_path / "b", ep)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_missing_meta_and_bad_json(tmp_path):
    path = write_episode(tmp_path / "ep0", make_episode())
    (path / "meta.json").write_text("{broken")
    with pytest.raises(EpisodeFormatError, match=r"meta\.json: not valid JSON"):
        read_episode(path)
    (path / "meta.json").unlink()
    with pytest.raises(EpisodeFormatError, match=r"meta\.json: missing metadata file"):
        read_episode(path)


def test_rewrite_replaces_atomically_and_leaves_no_temp_dirs(tmp_path):
    write_episode(tmp_path / "ep0", make_episode())
    ep2 = make_episode(t=8)
    write_episode(tmp_path / "ep0", ep2)
    assert read_episode(tmp_path / "ep0").num_frames == 8
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ep0"]


def test_dataset_index_filter_and_rebuild(tmp_path):
    ds = EpisodeDataset(tmp_path / "ds")
    ds.add(make_episode())
    fail = make_episode()
    fail.outcome = "failure"
    fail.task = "push"
    ds.add(fail, name="push_fail")
    assert len(ds) == 2 and ds.tasks() == ["pick_place", "push"]
    assert [p.name for p in ds.episodes(outcome="failure")] == ["push_fail"]
    (tmp_path / "ds" / "index.json").unlink()
    assert [p.name for p in EpisodeDataset(tmp_path / "ds").episodes(task="push")] == ["push_fail"]
    with pytest.raises(ValueError, match="outcome must be one of"):
        ds.episodes(outcome="ok")
    index = json.loads((tmp_path / "ds" / "index.json").read_text())
    assert {r["name"] for r in index["episodes"]} == {"pick_place_00000", "push_fail"}


def test_reversed_episode_mirrors_stages_and_frames():
    ep = make_episode(t=12)
    rev = reversed_episode(ep)
    rev.validate()
    assert [s.stage for s in rev.stages] == ["lift", "grasp", "approach"]
    assert rev.stages[0] == StageSpan("lift", 0, 3)
    np.testing.assert_array_equal(rev.frames["front"][0], ep.frames["front"][-1])
    assert rev.outcome == "failure" and rev.extra["reversed"] is True
