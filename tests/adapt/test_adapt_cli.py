"""The adapt/score command-line contract end to end on generated videos (test-only tiny encoder)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from scipy.stats import spearmanr

from robo_reward.adapt.cli import adapt_main, score_main
from adapt_helpers import block_frames

TASK = "move the block right, down, then left"


def run(main, argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = main([str(a) for a in argv])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def assert_one_line_error(rc: int, err: str, needle: str) -> None:
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert rc == 2, err
    assert "Traceback" not in err
    assert len(lines) == 1, f"expected one line, got: {err!r}"
    assert needle.lower() in lines[0].lower(), lines[0]


@pytest.fixture
def adapted_two(tiny_encoder, videos, tmp_path, capsys) -> Path:
    out = tmp_path / "reward_two"
    rc, _, err = run(adapt_main, ["--demo", videos["two"], "--task", TASK, "--out", out], capsys)
    assert rc == 0, err
    return out


def test_single_file_demo_adapts_and_scores_held_out_domain(tiny_encoder, videos, tmp_path, capsys):
    reward = tmp_path / "reward"
    rc, out, err = run(adapt_main, ["--demo", videos["single"], "--task", TASK, "--out", reward, "--seed", "1"], capsys)
    assert rc == 0, err
    assert (reward / "model.safetensors").is_file() and (reward / "config.json").is_file()
    cfg = json.loads((reward / "config.json").read_text())
    assert cfg["views"] == ["cam"] and cfg["task"] == TASK
    assert len(list((reward / "refs").glob("*.png"))) >= 2  # start and goal reference frames
    finals = {}
    for name in ("ok_single", "fail_single", "reversed_single"):
        js = tmp_path / f"{name}.json"
        rc, _, err = run(score_main, ["--reward", reward, "--episode", videos[name], "--out", js], capsys)
        assert rc == 0, err
        res = json.loads(js.read_text())
        for key in ("progress", "success_prob", "frame_index", "fps", "views", "timing"):
            assert key in res
        p = np.array(res["progress"])
        assert p.shape == (60,) and p.min() >= 0.0 and p.max() <= 1.0
        assert res["frame_index"] == list(range(60)) and res["fps"] == pytest.approx(15.0)
        assert res["views"] == [name] and res["view_map"] == {name: "cam"}  # one view each side: mapped by position
        finals[name] = (p, np.array(res["success_prob"]))
    voc = spearmanr(np.arange(60), finals["ok_single"][0]).statistic
    voc_rev = spearmanr(np.arange(60), finals["reversed_single"][0]).statistic
    assert voc > 0.9, voc
    assert voc_rev < -0.9, voc_rev
    assert finals["ok_single"][0][-1] > finals["fail_single"][0][-1] + 0.2
    assert finals["ok_single"][1][-1] > finals["fail_single"][1][-1]


def test_two_view_directory_and_view_subsets(adapted_two, videos, tmp_path, capsys):
    js = tmp_path / "ok.json"
    rc, _, err = run(score_main, ["--reward", adapted_two, "--episode", videos["ok"], "--out", js, "--task", TASK], capsys)
    assert rc == 0, err
    res = json.loads(js.read_text())
    assert sorted(res["views"]) == ["front", "side"]
    assert spearmanr(np.arange(60), res["progress"]).statistic > 0.9
    # a subset of the views is scored with the views it has
    rc, _, err = run(score_main, ["--reward", adapted_two, "--episode", videos["front_only"], "--out", js], capsys)
    assert rc == 0, err
    assert json.loads(js.read_text())["views"] == ["front"]
    rc, _, err = run(score_main, ["--reward", adapted_two, "--episode", videos["unknown_views"], "--out", js], capsys)
    assert_one_line_error(rc, err, "unknown view set")


def test_views_within_tolerance_are_cut_to_the_shortest(tiny_encoder, videos, tmp_path, capsys):
    rc, _, err = run(adapt_main, ["--demo", videos["near_even"], "--task", TASK, "--out", tmp_path / "r"], capsys)
    assert rc == 0, err
    assert json.loads((tmp_path / "r" / "config.json").read_text())["info"]["demo_num_frames"] == 58


def test_webm_demo(tiny_encoder, tmp_path, capsys):
    path = tmp_path / "demo.webm"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"VP80"), 15.0, (96, 96))
    if not writer.isOpened():
        pytest.skip("OpenCV in this environment cannot write webm (VP80 encoder unavailable)")
    for f in block_frames():
        writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    writer.release()
    rc, _, err = run(adapt_main, ["--demo", path, "--task", TASK, "--out", tmp_path / "r"], capsys)
    assert rc == 0, err
    rc, _, err = run(score_main, ["--reward", tmp_path / "r", "--episode", path, "--out", tmp_path / "s.json"], capsys)
    assert rc == 0, err
    p = json.loads((tmp_path / "s.json").read_text())["progress"]
    assert len(p) == 60 and spearmanr(np.arange(60), p).statistic > 0.9


def test_long_episode_is_subsampled_and_interpolated(adapted_two, videos, tmp_path, capsys):
    js = tmp_path / "sub.json"
    rc, _, err = run(score_main, ["--reward", adapted_two, "--episode", videos["ok"], "--out", js, "--max-frames", "20"], capsys)
    assert rc == 0, err
    res = json.loads(js.read_text())
    assert len(res["frame_index"]) == 20 and res["frame_index"][0] == 0 and res["frame_index"][-1] == 59
    assert len(res["progress"]) == 60 and len(res["success_prob"]) == 60


def test_keyframes_are_used(tiny_encoder, videos, tmp_path, capsys):
    kf = tmp_path / "kf.json"
    stages = [{"stage": "reach", "start_frame": 0, "end_frame": 19}, {"stage": "carry", "start_frame": 20, "end_frame": 39},
              {"stage": "place", "start_frame": 40, "end_frame": 59}]
    kf.write_text(json.dumps(stages))
    rc, _, err = run(adapt_main, ["--demo", videos["single"], "--task", TASK, "--out", tmp_path / "r", "--keyframes", kf], capsys)
    assert rc == 0, err
    cfg = json.loads((tmp_path / "r" / "config.json").read_text())
    assert cfg["stages"] == stages and cfg["info"]["stages_source"] == "keyframes"
    rc, _, err = run(score_main, ["--reward", tmp_path / "r", "--episode", videos["ok_single"], "--out", tmp_path / "s.json"], capsys)
    assert rc == 0, err
    res = json.loads((tmp_path / "s.json").read_text())
    assert res["stage"][0] == "reach" and res["stage"][-1] == "place"


@pytest.mark.parametrize(
    "case, needle",
    [
        ("corrupt", "corrupt.mp4"),
        ("empty", "empty.avi"),
        ("uneven", "different lengths"),
        ("one_frame", "at least 2"),
        ("no_videos", "holds no video"),
        ("missing", "no such episode"),
    ],
)
def test_bad_demo_gives_one_line_error(case, needle, tiny_encoder, videos, tmp_path, capsys):
    demo = videos.get(case, tmp_path / "does_not_exist")
    rc, _, err = run(adapt_main, ["--demo", demo, "--task", TASK, "--out", tmp_path / "r"], capsys)
    assert_one_line_error(rc, err, needle)
    assert not (tmp_path / "r" / "model.safetensors").exists()


@pytest.mark.parametrize(
    "content, needle",
    [
        ("not json", "not valid JSON"),
        ('[{"stage": "a", "start_frame": 0, "end_frame": 99}]', "demo has 60 frames"),
        ('[{"stage": "a", "start_frame": 0, "end_frame": 30}, {"stage": "b", "start_frame": 20, "end_frame": 59}]', "overlap"),
        ('[{"stage": "a", "start_frame": 0}]', "must have keys"),
        ("[]", "non-empty"),
    ],
)
def test_bad_keyframes_give_one_line_error(content, needle, tiny_encoder, videos, tmp_path, capsys):
    kf = tmp_path / "kf.json"
    kf.write_text(content)
    rc, _, err = run(adapt_main, ["--demo", videos["single"], "--task", TASK, "--out", tmp_path / "r", "--keyframes", kf], capsys)
    assert_one_line_error(rc, err, needle)


def test_missing_or_empty_task_and_bad_reward_dir(tiny_encoder, videos, tmp_path, capsys):
    rc, _, err = run(adapt_main, ["--demo", videos["single"], "--out", tmp_path / "r"], capsys)
    assert_one_line_error(rc, err, "--task")
    rc, _, err = run(adapt_main, ["--demo", videos["single"], "--task", "  ", "--out", tmp_path / "r"], capsys)
    assert_one_line_error(rc, err, "missing task")
    rc, _, err = run(score_main, ["--reward", tmp_path / "nope", "--episode", videos["ok"], "--out", tmp_path / "s.json"], capsys)
    assert_one_line_error(rc, err, "reward directory not found")
    (tmp_path / "not_reward").mkdir()
    rc, _, err = run(score_main, ["--reward", tmp_path / "not_reward", "--episode", videos["ok"], "--out", tmp_path / "s.json"], capsys)
    assert_one_line_error(rc, err, "not an adapted reward directory")


def test_base_that_is_not_a_model_directory_is_reported_not_crashed(tiny_encoder, videos, tmp_path, capsys):
    rc, _, err = run(adapt_main, ["--demo", videos["single"], "--task", TASK, "--out", tmp_path / "r", "--base", tmp_path], capsys)
    assert_one_line_error(rc, err, "--base")
