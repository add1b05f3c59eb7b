"""Atomic writes: a failed write leaves the previous file whole and no temp file behind; JSON is strict."""

import enum
import json
from pathlib import Path

import numpy as np
import pytest

from robo_reward.data.atomic import atomic_path, atomic_write_bytes, atomic_write_json


def test_atomic_path_replaces_the_target_keeping_its_suffix(tmp_path):
    target = tmp_path / "sub" / "weights.safetensors"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp.suffix == ".safetensors" and tmp != target
        tmp.write_bytes(b"new")
        assert not target.exists()  # nothing visible until the block ends
    assert target.read_bytes() == b"new"
    assert [p.name for p in target.parent.iterdir()] == ["weights.safetensors"]


def test_an_error_inside_atomic_path_keeps_the_previous_file(tmp_path):
    target = atomic_write_bytes(tmp_path / "latest.json", b"old")
    with pytest.raises(OSError, match="disk full"):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise OSError("disk full")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["latest.json"]


def test_replay_buffer_and_video_writers_leave_no_temp_files(tmp_path):
    """Two writers that hand a path or a file object to a library (np.savez, OpenCV) go through atomic_path too."""
    from robo_reward.data.video import read_video, write_video
    from robo_reward.real.sac import ReplayBuffer

    buf = ReplayBuffer(obs_dim=3, act_dim=2, capacity=8)
    buf.save(tmp_path / "replay-1.npz")
    assert ReplayBuffer.load(tmp_path / "replay-1.npz").capacity == 8
    frames = np.zeros((4, 16, 16, 3), np.uint8)
    write_video(tmp_path / "front.mp4", frames, fps=10)
    assert read_video(tmp_path / "front.mp4")[0].shape == (4, 16, 16, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["front.mp4", "replay-1.npz"]


def test_atomic_write_json_writes_strict_json(tmp_path):
    """Metrics over empty sets are NaN; Python's json would write the bare token NaN, which strict parsers reject."""
    class Mode(enum.Enum):
        FAST = "fast"

    obj = {"voc": float("nan"), "auroc": np.float32(0.75), "inf": [np.float64("inf"), -np.inf], "n": np.int64(3),
           "ok": np.bool_(True), "curve": np.array([0.0, np.nan, 1.0]), np.int64(7): "key", "mode": Mode.FAST,
           "path": Path("a/b"), "nested": ({"x": np.float16(0.5)},)}
    path = atomic_write_json(tmp_path / "sub" / "m.json", obj)

    def reject(token):
        raise AssertionError(f"non-standard JSON token {token}")

    back = json.loads(path.read_text(), parse_constant=reject)
    assert back == {"voc": None, "auroc": 0.75, "inf": [None, None], "n": 3, "ok": True, "curve": [0.0, None, 1.0],
                    "7": "key", "mode": "fast", "path": "a/b", "nested": [{"x": 0.5}]}
    assert [p.name for p in path.parent.iterdir()] == ["m.json"]  # no temp file left behind
    with pytest.raises(TypeError, match="set"):
        atomic_write_json(tmp_path / "bad.json", {"s": {1, 2}})
    assert not (tmp_path / "bad.json").exists()
    assert json.loads(atomic_write_json(tmp_path / "s.json", {"s": {1}}, default=str).read_text()) == {"s": "{1}"}


def test_atomic_writes_get_the_permissions_of_a_plain_write(tmp_path):
    """mkstemp / mkdtemp make owner-only files and folders; what lands must be readable like a plain write."""
    import stat

    from test_episodes import make_episode

    from robo_reward.data import write_episode

    (tmp_path / "plain.txt").write_text("x")
    (tmp_path / "plain_dir").mkdir()
    file_mode = stat.S_IMODE((tmp_path / "plain.txt").stat().st_mode)
    dir_mode = stat.S_IMODE((tmp_path / "plain_dir").stat().st_mode)
    assert file_mode & 0o044, "test needs a umask that lets group/others read"

    atomic_write_json(tmp_path / "a.json", {"k": 1})
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == file_mode
    ep_dir = write_episode(tmp_path / "ep0", make_episode())
    assert stat.S_IMODE(ep_dir.stat().st_mode) == dir_mode
    assert {stat.S_IMODE(p.stat().st_mode) for p in ep_dir.iterdir()} == {file_mode}
