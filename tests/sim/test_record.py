"""record_episode, outcome labels, randomisation, contact sheets and the dataset recorder."""

from __future__ import annotations

import json

import numpy as np
import pytest

from robo_reward.sim.env import make_env
from robo_reward.sim.policies import make_policy
from robo_reward.sim.randomization import RandomizationConfig
from robo_reward.sim.record import RecordConfig, outcome_of, record_episode, run, stage_spans


def test_outcome_definition():
    assert outcome_of(True, 0) == "success"
    assert outcome_of(False, 1) == "partial"
    assert outcome_of(False, 0) == "failure"


def test_stage_spans_cover_all_frames():
    spans = stage_spans([0, 0, 1, 1, 1, 0, 2], ("a", "b", "c"))
    assert [(s.stage, s.start_frame, s.end_frame) for s in spans] == [
        ("a", 0, 1), ("b", 2, 4), ("a", 5, 5), ("c", 6, 6)]


def test_record_episode_lengths_are_consistent():
    env = make_env("reach", views=("front", "wrist"), image_size=24, render_quality="fast")
    try:
        ep = record_episode(env, make_policy(env, "expert", 0), seed=0)
    finally:
        env.close()
    t = ep.num_frames
    assert t >= 2
    assert ep.frames["front"].shape == (t, 24, 24, 3) and ep.frames["wrist"].shape == (t, 24, 24, 3)
    assert ep.states.shape == (t, len(ep.state_names)) and ep.actions.shape == (t, 4)
    assert not ep.actions[-1].any() and ep.actions[0].any()
    assert ep.stages[0].start_frame == 0 and ep.stages[-1].end_frame == t - 1
    assert ep.outcome == "success" and ep.extra["failure_mode"] == "expert"
    json.dumps(ep.extra)  # meta must be JSON-serialisable
    ep.validate()


def test_randomization_changes_pixels_not_the_task():
    kw = dict(views=("front",), image_size=32, render_quality="fast")
    plain, rand = make_env("pick_place", **kw), make_env("pick_place", randomization=RandomizationConfig.all_on(), **kw)
    try:
        plain.reset(seed=5)
        rand.reset(seed=5)
        np.testing.assert_allclose(plain.state(), rand.state(), atol=1e-6)
        diff = np.abs(plain.render_views()["front"].astype(int) - rand.render_views()["front"].astype(int)).mean()
        assert diff > 5.0
        rand.reset(seed=6)
        img6 = rand.render_views()["front"]
        rand.reset(seed=5)
        assert np.abs(rand.render_views()["front"].astype(int) - img6.astype(int)).mean() > 1.0
        a = record_episode(plain, make_policy(plain, "expert", 5), 5, views=())
        b = record_episode(rand, make_policy(rand, "expert", 5), 5, views=())
        np.testing.assert_allclose(a.states, b.states, atol=1e-5)
    finally:
        plain.close()
        rand.close()


def test_randomization_config_validation():
    assert not RandomizationConfig().enabled
    with pytest.raises(ValueError, match="distractors"):
        RandomizationConfig(distractors=99)


def test_record_config_validation_lists_problems():
    with pytest.raises(ValueError, match="outcome must be one of.*workers must be"):
        RecordConfig(outcome="great", workers=0)
    with pytest.raises(ValueError, match="unknown camera"):
        RecordConfig(views=["ceiling"])


def test_contact_sheet_writes_png(tmp_path):
    from robo_reward.sim.visualize import contact_sheet

    env = make_env("reach", views=("front", "side"), image_size=24, render_quality="fast")
    try:
        ep = record_episode(env, make_policy(env, "expert", 1), seed=1)
    finally:
        env.close()
    path = contact_sheet(ep, tmp_path / "sheet.png", n_frames=3)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_run_records_wanted_outcomes(tmp_path):
    from robo_reward.data import EpisodeDataset, read_episode

    cfg = RecordConfig(task="reach", episodes=4, outcome="mixed", views=["front"], image_size=16,
                       render_quality="fast", out=str(tmp_path / "ds"), workers=1)
    summary = run(cfg)
    assert summary["episodes"] == 4 and summary["complete"]
    assert summary["outcomes"]["success"] == 2
    assert summary["summary"].startswith("recorded 4 episodes (success 2, ") and str(tmp_path / "ds") in summary["summary"]
    ds = EpisodeDataset(tmp_path / "ds")
    assert len(ds.episodes(outcome="success")) == 2
    ep = read_episode(ds.episodes()[0])
    assert ep.frames["front"].shape[1:] == (16, 16, 3)
    with pytest.raises(ValueError, match="overwrite"):
        run(cfg)


@pytest.mark.slow
def test_run_does_not_depend_on_workers(tmp_path):
    from robo_reward.data import EpisodeDataset

    base = dict(task="all", episodes=5, outcome="partial", views=["front"], image_size=16, render_quality="fast")
    one = run(RecordConfig(out=str(tmp_path / "w1"), workers=1, **base))
    two = run(RecordConfig(out=str(tmp_path / "w2"), workers=2, **base))
    assert one["outcomes"] == two["outcomes"] == {"success": 0, "partial": 5, "failure": 0}
    rows1 = EpisodeDataset(tmp_path / "w1").index()
    rows2 = EpisodeDataset(tmp_path / "w2").index()
    assert rows1 == rows2


def test_wander_goes_far_from_the_goal_and_true_progress_says_so():
    """The opt-in 'wander' failure mode takes the arm >= 15 cm from the goal; the recorded true progress (reach,
    push) ends at 1 for a success and stays 0 while the arm is farther away than at the start."""
    env = make_env("reach", views=("front",), image_size=16, render_quality="fast")
    try:
        far = []
        for seed in range(3):
            ep = record_episode(env, make_policy(env, "wander", seed), seed=seed)
            d = np.linalg.norm(env.task.ee() - env.task.target)
            far.append(d)
            prog = np.asarray(ep.extra["true_progress"])
            assert prog.shape == (ep.num_frames,) and ep.outcome == "failure"
            assert prog[-1] == 0.0 or d < env.task.start_dist
        ok = record_episode(env, make_policy(env, "expert", 0), seed=0)
    finally:
        env.close()
    assert min(far) > 0.12
    prog = np.asarray(ok.extra["true_progress"])
    assert prog[0] < 0.05 and prog[-1] == 1.0 and np.all(np.diff(prog) > -0.02)


def test_near_miss_stops_a_few_centimetres_from_the_goal_from_any_side():
    """'near_miss' ends 3-13 cm from the reach target (never a success) and from more than one side, with the
    true progress high but short of 1."""
    env = make_env("reach", views=("front",), image_size=16, render_quality="fast")
    try:
        offsets, finals = [], []
        for seed in range(4):
            ep = record_episode(env, make_policy(env, "near_miss", seed), seed=seed)
            offsets.append(env.task.ee() - env.task.target)
            finals.append(ep.extra["true_progress"][-1])
            assert ep.outcome != "success"
    finally:
        env.close()
    dist = np.linalg.norm(offsets, axis=1)
    assert np.all((dist > 0.03) & (dist < 0.13)), dist
    assert len({tuple(np.sign(o).astype(int)) for o in offsets}) > 1  # not all on the same side
    assert all(0.2 < f < 1.0 for f in finals), finals


def test_failure_modes_choose_the_recorded_failures(tmp_path):
    cfg = RecordConfig(task="reach", episodes=4, outcome="failure", failure_modes=["wander", "random"], views=["front"],
                       image_size=16, render_quality="fast", out=str(tmp_path / "ds"), workers=1)
    summary = run(cfg)
    assert summary["outcomes"] == {"success": 0, "partial": 0, "failure": 4}
    assert set(summary["modes"]) <= {"wander", "random"} and "wander" in summary["modes"]
    with pytest.raises(ValueError, match="failure_modes must be"):
        RecordConfig(failure_modes=["expert"])
    with pytest.raises(ValueError, match="failure_modes must be"):
        RecordConfig(failure_modes=["teleport"])
