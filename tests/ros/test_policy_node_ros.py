"""Policy node as a real process: limits, watchdog and e-stop over DDS (the test process fakes the arm)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from robo_reward.real.safety import PANDA_ARM_JOINTS, PANDA_HOME, PANDA_JOINT_LIMITS

pytestmark = pytest.mark.ros

CAM = "/camera/test/image_raw"
RATE = 50.0


class FakeArm:
    """Publishes joint states (at HOME, or a given pose) and a camera at 50 Hz; records commands."""

    def __init__(self, node: Any, command_type: str, q: np.ndarray) -> None:
        from sensor_msgs.msg import Image, JointState
        from std_msgs.msg import Bool, Float64MultiArray
        from trajectory_msgs.msg import JointTrajectory

        self.node, self.q = node, q
        self.camera_on = True
        self.last_image_t = 0.0
        self.cmds: list[tuple[float, np.ndarray]] = []
        self.pub_js = node.create_publisher(JointState, "/joint_states", 10)
        self.pub_img = node.create_publisher(Image, CAM, 10)
        self.pub_estop = node.create_publisher(Bool, "/estop", 10)
        self.js = JointState(name=list(PANDA_ARM_JOINTS), velocity=[0.0] * 7)
        self.img = Image(height=2, width=2, encoding="rgb8", step=6, data=bytes(12))
        if command_type == "trajectory":
            node.create_subscription(JointTrajectory, "/joint_trajectory_controller/joint_trajectory",
                                     lambda m: self._cmd(m.points[-1].positions), 10)
        else:
            node.create_subscription(Float64MultiArray, "/forward_position_controller/commands",
                                     lambda m: self._cmd(m.data), 10)
        node.create_timer(1.0 / RATE, self._tick)

    def _cmd(self, positions: Any) -> None:
        self.cmds.append((time.monotonic(), np.asarray(positions, dtype=float)))

    def _tick(self) -> None:
        self.js.position = self.q.tolist()
        self.js.header.stamp = self.node.get_clock().now().to_msg()
        self.pub_js.publish(self.js)
        if self.camera_on:
            self.img.header.stamp = self.js.header.stamp
            self.pub_img.publish(self.img)
            self.last_image_t = time.monotonic()

    def commands_after(self, t: float) -> list[np.ndarray]:
        return [c for tc, c in self.cmds if tc > t]


def _start(start_node: Any, **params: Any) -> Any:
    base = dict(policy="scripted:constant", action_amplitude=0.5, max_step=0.03, rate_hz=RATE,
                image_topics=[CAM], watchdog_timeout_s=0.2, check_workspace=True)
    base.update(params)
    return start_node("robo_reward.real.nodes.policy_node", "policy_node", **base)


@pytest.mark.parametrize("command_type", ["trajectory", "forward"])
def test_commands_are_clamped_to_step_and_position_limits(start_node: Any, probe: Any, command_type: str) -> None:
    q = np.array(PANDA_HOME)
    q[3] = -0.09  # 2 cm below joint 4's upper limit (-0.0698)
    arm = FakeArm(probe, command_type, q)
    proc = _start(start_node, command_type=command_type)
    assert probe.spin_for(30.0, lambda: len(arm.cmds) >= 10), proc.log()
    upper = np.array([PANDA_JOINT_LIMITS[n][1] for n in PANDA_ARM_JOINTS])
    for _, cmd in arm.cmds:
        assert cmd.shape == (7,)
        assert np.all(np.abs(cmd - q) <= 0.03 + 1e-9)  # policy asks +0.5 rad per tick
        assert np.all(cmd <= upper + 1e-9)
    last = arm.cmds[-1][1]
    assert last[3] == pytest.approx(-0.0698)  # position limit reached, not exceeded
    assert last[0] == pytest.approx(q[0] + 0.03)  # step limit


def test_watchdog_stops_commands_when_a_camera_goes_silent(start_node: Any, probe: Any) -> None:
    arm = FakeArm(probe, "trajectory", np.array(PANDA_HOME))
    proc = _start(start_node, action_amplitude=0.001)
    assert probe.spin_for(30.0, lambda: len(arm.cmds) >= 20), proc.log()
    arm.camera_on = False
    probe.spin_for(1.0)
    t_silent = arm.last_image_t
    late = arm.commands_after(t_silent)
    assert late, "expected the commands in flight plus one hold command"
    t_last = max(tc for tc, _ in arm.cmds)
    # watchdog 200 ms + one 20 ms control period + scheduling slack on a loaded machine
    assert t_last - t_silent <= 0.2 + 1.0 / RATE + 0.08, f"commands continued {t_last - t_silent:.3f} s"
    np.testing.assert_allclose(arm.cmds[-1][1], PANDA_HOME)  # the hold command is the measured pose
    n = len(arm.cmds)
    arm.camera_on = True
    assert probe.spin_for(5.0, lambda: len(arm.cmds) > n + 5)  # resumes when the camera is back


def test_estop_latches_until_reset_service(start_node: Any, probe: Any, trigger: Any) -> None:
    from std_msgs.msg import Bool

    arm = FakeArm(probe, "forward", np.array(PANDA_HOME))
    proc = _start(start_node, command_type="forward", action_amplitude=0.001)
    assert probe.spin_for(30.0, lambda: len(arm.cmds) >= 5), proc.log()
    arm.pub_estop.publish(Bool(data=True))
    probe.spin_for(0.5)
    t0 = time.monotonic()
    for _ in range(5):
        arm.pub_estop.publish(Bool(data=False))  # releasing the button does not release the latch
        probe.spin_for(0.1)
    probe.spin_for(0.5)
    assert arm.commands_after(t0) == []
    resp = trigger("/policy/reset_estop")
    assert resp.success and resp.message == "e-stop released"
    t1 = time.monotonic()
    assert probe.spin_for(5.0, lambda: len(arm.commands_after(t1)) >= 5)
