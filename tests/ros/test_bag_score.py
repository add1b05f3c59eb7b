"""Offline scoring of a rosbag2 written with ``rosbags`` from a simulated expert episode (no ROS processes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from robo_reward.real.bag_score import BagScoreConfig, run


def _write_bag(path: Path, storage: str) -> int:
    from rosbags.rosbag2 import StoragePlugin, Writer
    from rosbags.typesys import Stores, get_typestore

    from robo_reward.sim.env import make_env
    from robo_reward.sim.policies import make_policy

    ts = get_typestore(Stores.ROS2_KILTED)
    Image, Header, Time = ts.types["sensor_msgs/msg/Image"], ts.types["std_msgs/msg/Header"], \
        ts.types["builtin_interfaces/msg/Time"]
    env = make_env("pick_place", views=("front", "side"), image_size=64, render_quality="fast",
                   terminate_on_success=False)
    obs, _ = env.reset(seed=3)
    pol = make_policy(env, "expert", seed=3)
    pol.reset()
    plugin = StoragePlugin.MCAP if storage == "mcap" else StoragePlugin.SQLITE3
    n, after_success = 0, 0
    with Writer(path, version=9, storage_plugin=plugin) as w:
        conns = {v: w.add_connection(f"/camera/{v}/image_raw", "sensor_msgs/msg/Image", typestore=ts)
                 for v in ("front", "side")}
        for t in range(60):
            frames = env.render_views()
            stamp = 1_000_000_000 + t * 100_000_000  # 10 Hz
            for v, rgb in frames.items():
                hdr = Header(stamp=Time(sec=stamp // 10**9, nanosec=stamp % 10**9), frame_id=v)
                enc, data = ("bgr8", rgb[:, :, ::-1]) if v == "side" else ("rgb8", rgb)
                msg = Image(header=hdr, height=64, width=64, encoding=enc, is_bigendian=0, step=192,
                            data=np.ascontiguousarray(data).reshape(-1))
                if t == 5 and v == "front":
                    msg = Image(header=hdr, height=64, width=64, encoding="yuv422", is_bigendian=0, step=128,
                                data=np.zeros(8192, np.uint8))
                w.write(conns[v], stamp + (3_000_000 if v == "side" else 0), ts.serialize_cdr(msg, msg.__msgtype__))
            n += 1
            obs, _, _, _, info = env.step(pol.act(obs))
            after_success += int(info["success"])
            if after_success > 4:  # a few frames of the finished scene
                break
    env.close()
    return n


@pytest.mark.parametrize("storage", ["sqlite3", "mcap"])
def test_bag_is_scored_like_robo_reward_score(tmp_path: Path, storage: str) -> None:
    bag = tmp_path / "bag"
    n = _write_bag(bag, storage)
    out = tmp_path / "score.json"
    res = run(BagScoreConfig(bag=str(bag), image_size=64, output=str(out)))
    assert out.exists()
    assert set(res) >= {"progress", "success_prob", "frame_index", "fps", "views", "timing"}
    assert len(res["progress"]) == n - 1  # one frame set lost to the malformed front image
    assert res["skipped"]["malformed"]["encoding"] == 1
    assert res["frame_index"] == list(range(n - 1)) and res["views"] == ["front", "side"]
    assert res["fps"] == pytest.approx(10.0, rel=0.05)
    p = np.array(res["progress"])
    assert np.all((0 <= p) & (p <= 1)) and p[0] < 0.1 and p[-3:].max() > 0.7
    with pytest.raises(ValueError, match="has no topics"):
        run(BagScoreConfig(bag=str(bag), image_topics=["/nope"], views=["front"]))
