"""Real processes over DDS: the reward node with bad input, and the sim-arm graph from launch/sim_arm.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from robo_reward.real.bringup import Bringup, load_graph

pytestmark = pytest.mark.ros

GRAPH = Path(__file__).resolve().parents[2] / "launch" / "sim_arm.yaml"


def _scene(k: int) -> np.ndarray:
    img = np.full((48, 64, 3), (120, 110, 100), np.uint8)
    img[30:40, 44:54] = (50, 190, 60)
    img[4 + 3 * k: 10 + 3 * k, 4 + 4 * k: 10 + 4 * k] = (215, 40, 40)
    return img


def test_reward_node_counts_malformed_images_and_keeps_running(start_node: Any, probe: Any, trigger: Any) -> None:
    from diagnostic_msgs.msg import DiagnosticArray
    from sensor_msgs.msg import Image
    from std_msgs.msg import Float32

    from robo_reward.real.images import fill_image_msg

    proc = start_node("robo_reward.real.nodes.reward_node", "reward_node", image_topics=["/cam/image_raw"],
                      views=["front"], image_size=32, diagnostics_period_s=0.2)
    pub = probe.create_publisher(Image, "/cam/image_raw", 10)
    progress: list[float] = []
    diags: list[dict[str, str]] = []
    probe.create_subscription(Float32, "/reward/progress", lambda m: progress.append(m.data), 10)
    probe.create_subscription(DiagnosticArray, "/diagnostics",
                              lambda m: diags.extend({kv.key: kv.value for kv in s.values} for s in m.status
                                                     if s.name == "robo_reward/reward_node"), 10)

    def send(k: int, **broken: Any) -> None:
        msg = fill_image_msg(Image(), _scene(k), "bgr8" if k % 2 else "rgb8")
        for key, value in broken.items():
            setattr(msg, key, value)
        msg.header.stamp = probe.get_clock().now().to_msg()
        pub.publish(msg)
        probe.spin_for(0.05)

    assert probe.spin_for(30.0, lambda: (send(0) or bool(progress))), proc.log()
    trigger("/reward/reset_episode")
    send(0)
    n_good = len(progress)
    send(1, encoding="32FC1")
    send(2, height=47)  # data no longer matches step * height
    send(3, data=b"", height=0)
    send(4, step=10)  # step < width * 3
    for k in range(1, 10):
        send(k)
    assert probe.spin_for(5.0, lambda: len(progress) >= n_good + 9)
    assert proc.proc.poll() is None
    assert progress[-1] > 0.8 > progress[n_good - 1]  # the cube walked onto the target
    assert probe.spin_for(5.0, lambda: bool(diags) and int(diags[-1]["malformed_total"]) == 4)
    d = diags[-1]
    assert (d["malformed/encoding"], d["malformed/size"], d["malformed/empty"]) == ("1", "2", "1")
    assert float(d["latency_p50_ms"]) > 0.0


def _run_episode(ros_env: dict[str, str], probe: Any, trigger: Any, autopilot: str, seconds: float,
                 tmp: Path) -> tuple[list[float], list[bool]]:
    from std_msgs.msg import Bool, Float32

    graph = load_graph(GRAPH, {"autopilot": autopilot, "mode": "none", "seed": "3"})
    progress: list[float] = []
    success: list[bool] = []
    probe.create_subscription(Float32, "/reward/progress", lambda m: progress.append(m.data), 10)
    probe.create_subscription(Bool, "/sim/success", lambda m: success.append(m.data), 10)
    with Bringup(graph, env=ros_env, log_dir=tmp / autopilot) as bring:
        assert probe.spin_for(60.0, lambda: len(progress) > 3), (bring.log("sim_arm"), bring.log("reward_node"))
        assert trigger("/sim/reset").success  # the autopilot starts a fresh episode from home
        assert trigger("/reward/reset_episode").success
        progress.clear()
        success.clear()
        probe.spin_for(seconds, lambda: len(success) > 10 and success[-1] and len(progress) > 5)
        probe.spin_for(0.5)
        assert not bring.dead(), bring.dead()
    return progress, success


@pytest.mark.slow
def test_sim_graph_progress_rises_for_expert_and_stays_low_for_failure(ros_env: dict[str, str], probe: Any,
                                                                       trigger: Any, tmp_path: Path) -> None:
    progress, success = _run_episode(ros_env, probe, trigger, "expert", 20.0, tmp_path)
    assert any(success), "the scripted expert should succeed in the simulated arm"
    assert len(progress) >= 10
    assert progress[0] < 0.2 and max(progress[-3:]) > 0.7, progress
    progress, success = _run_episode(ros_env, probe, trigger, "missed_grasp", 5.0, tmp_path)
    assert not any(success)
    assert len(progress) >= 10 and max(progress) < 0.3, progress


def test_reward_node_stamped_output_and_reset_drops_older_frames(start_node: Any, probe: Any, trigger: Any) -> None:
    from sensor_msgs.msg import Image
    from std_msgs.msg import Float64MultiArray

    from robo_reward.real.finetune import STAMPED_LAYOUT, StampedReward
    from robo_reward.real.images import fill_image_msg

    proc = start_node("robo_reward.real.nodes.reward_node", "reward_node", image_topics=["/cam/image_raw"],
                      views=["front"], image_size=32, gamma=0.9)
    pub = probe.create_publisher(Image, "/cam/image_raw", 10)
    out: list[StampedReward] = []
    labels: list[str] = []

    def on_stamped(m: Any) -> None:
        out.append(StampedReward.from_array(m.data))
        labels.extend(d.label for d in m.layout.dim)

    probe.create_subscription(Float64MultiArray, "/reward/stamped", on_stamped, 10)

    def send(k: int, stamp_ns: int) -> None:
        msg = fill_image_msg(Image(), _scene(k), "rgb8")
        msg.header.stamp.sec, msg.header.stamp.nanosec = stamp_ns // 10**9, stamp_ns % 10**9
        pub.publish(msg)
        probe.spin_for(0.05)

    def now() -> int:
        return int(probe.get_clock().now().nanoseconds)

    assert probe.spin_for(30.0, lambda: (send(0, now()) or bool(out))), proc.log()
    assert labels[0] == ",".join(STAMPED_LAYOUT)
    old = now()  # a frame of the old scene (cube on the target), rendered before the reset...
    assert trigger("/reward/reset_episode").success
    out.clear()
    send(9, old)  # ...arriving after it: dropped, it must not set the new episode's baseline
    s1, s2 = now(), now() + 1000
    send(0, s1)
    send(2, s2)
    assert probe.spin_for(5.0, lambda: len(out) >= 2), proc.log()
    assert [r.stamp_ns for r in out] == [s1, s2]  # exact frame stamps, the stale frame never scored
    assert out[0].shaped == 0.0  # first set of the episode
    assert out[1].progress > out[0].progress
    assert out[1].shaped == pytest.approx(0.9 * out[1].progress - out[0].progress, abs=1e-6)
