"""Simulated arm: the PyBullet Panda suite behind the interfaces of a ros2_control arm with cameras.

Publishes (reliable, so any subscriber QoS matches): ``/joint_states`` (sensor_msgs/JointState, 9 Panda joints,
``joint_state_rate_hz``), one ``sensor_msgs/Image`` (rgb8, stamped at render time) per view on
``<camera_prefix>/<view>/image_raw`` at ``camera_rate_hz``, and ground truth for tests: ``/sim/success``
(std_msgs/Bool) and ``/sim/stage`` (std_msgs/String) every control step.

Accepts both command types of :mod:`robo_reward.real.nodes.policy_node`: trajectory_msgs/JointTrajectory on
``/<controller_name>/joint_trajectory`` (joints by name, last point's positions) and std_msgs/Float64MultiArray on
``forward_topic`` (positions of ``forward_joints`` in order). Joints not commanded keep their target.

Service ``/sim/reset`` (std_srvs/Trigger): new episode (seed = ``seed`` + episode index), arm at home pose.
``autopilot``: ``none`` (follow commands) or a ``robo_reward.sim.policies`` mode (``expert``, ``stop_early``,
``missed_grasp``, ...) driving the arm internally (commands are then ignored).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from rclpy.node import Node
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Bool, Float64MultiArray, String
from std_srvs.srv import Trigger
from trajectory_msgs.msg import JointTrajectory

from robo_reward.real.images import fill_image_msg
from robo_reward.real.nodes._common import OUTPUT_QOS, declare, run_node
from robo_reward.real.safety import PANDA_ARM_JOINTS


class SimArmNode(Node):
    """See module docstring. ``env`` (a robo_reward.sim TabletopEnv) may be injected."""

    def __init__(self, env: Any = None, node_name: str = "sim_arm", **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        from robo_reward.sim.env import make_env
        from robo_reward.sim.policies import MODES

        task = declare(self, "task", "pick_place", "robo_reward.sim task name", read_only=True)
        self.views = list(declare(self, "views", ["front", "side"], "camera views to publish", read_only=True))
        size = declare(self, "image_size", 64, "square image side (px)", int_range=(16, 1024), read_only=True)
        quality = declare(self, "render_quality", "fast", "fast or full", choices=("fast", "full"), read_only=True)
        self.control_hz = declare(self, "control_hz", 10, "physics control steps per second", int_range=(1, 240),
                                  read_only=True)
        cam_hz = declare(self, "camera_rate_hz", 10.0, "image publish rate (Hz)", float_range=(0.1, 120.0))
        js_hz = declare(self, "joint_state_rate_hz", 50.0, "joint state publish rate (Hz)",
                        float_range=(1.0, 1000.0))
        prefix = declare(self, "camera_prefix", "/camera", "images go to <prefix>/<view>/image_raw")
        controller = declare(self, "controller_name", "joint_trajectory_controller", "trajectory controller name")
        forward_topic = declare(self, "forward_topic", "/forward_position_controller/commands",
                                "Float64MultiArray command topic")
        self.forward_joints = list(declare(self, "forward_joints", list(PANDA_ARM_JOINTS),
                                           "joints (in order) of the Float64MultiArray commands"))
        self.seed = declare(self, "seed", 0, "seed of the first episode", int_range=(0, 2**31 - 1))
        self.autopilot = declare(self, "autopilot", "none", "none or a robo_reward.sim policy mode",
                                 choices=("none",) + tuple(MODES))
        self.env = env if env is not None else make_env(
            task, obs_mode="state", views=tuple(self.views), image_size=size, render_quality=quality,
            control_hz=self.control_hz, terminate_on_success=False, max_episode_steps=10**9)
        self.joint_names = list(self.env.joint_names)
        unknown = [j for j in self.forward_joints if j not in self.joint_names]
        if unknown:
            raise ValueError(f"forward_joints {unknown} are not sim joints {self.joint_names}")
        self.episode = 0
        self.commands = 0
        self.rejected = 0
        self._pilot = None
        self._reset_episode()

        self.pub_js = self.create_publisher(JointState, "/joint_states", OUTPUT_QOS)
        self.pub_img = {v: self.create_publisher(Image, f"{prefix}/{v}/image_raw", OUTPUT_QOS) for v in self.views}
        self.pub_success = self.create_publisher(Bool, "/sim/success", OUTPUT_QOS)
        self.pub_stage = self.create_publisher(String, "/sim/stage", OUTPUT_QOS)
        self.create_subscription(JointTrajectory, f"/{controller}/joint_trajectory", self._on_trajectory, OUTPUT_QOS)
        self.create_subscription(Float64MultiArray, forward_topic, self._on_forward, OUTPUT_QOS)
        self.create_service(Trigger, "/sim/reset", self._on_reset)
        self.create_timer(1.0 / self.control_hz, self._step)
        self.create_timer(1.0 / cam_hz, self._publish_images)
        self.create_timer(1.0 / js_hz, self._publish_joints)
        self.get_logger().info(f"sim arm: task={task} views={self.views} {size}px autopilot={self.autopilot}")

    # ------------------------------------------------------------------ episode
    def _reset_episode(self) -> None:
        from robo_reward.sim.policies import make_policy

        self._obs, self.info = self.env.reset(seed=int(self.seed) + self.episode)
        self.q_target = np.asarray(self.env.get_joint_state()[0], dtype=np.float64).copy()
        if self.autopilot != "none":
            self._pilot = make_policy(self.env, self.autopilot, seed=int(self.seed) + self.episode)
            self._pilot.reset()

    def _on_reset(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        self.episode += 1
        self._reset_episode()
        response.success = True
        response.message = f"episode {self.episode} (seed {int(self.seed) + self.episode})"
        return response

    # ------------------------------------------------------------------ commands
    def _on_trajectory(self, msg: JointTrajectory) -> None:
        if not msg.points or len(msg.points[-1].positions) != len(msg.joint_names):
            self.rejected += 1
            return
        idx = [self.joint_names.index(n) if n in self.joint_names else -1 for n in msg.joint_names]
        if min(idx, default=-1) < 0:
            self.rejected += 1
            self.get_logger().warning(f"unknown joints in {list(msg.joint_names)}", throttle_duration_sec=2.0)
            return
        self.q_target[idx] = np.asarray(msg.points[-1].positions, dtype=np.float64)
        self.commands += 1

    def _on_forward(self, msg: Float64MultiArray) -> None:
        if len(msg.data) != len(self.forward_joints):
            self.rejected += 1
            self.get_logger().warning(f"forward command has {len(msg.data)} values, expected "
                                      f"{len(self.forward_joints)}", throttle_duration_sec=2.0)
            return
        idx = [self.joint_names.index(n) for n in self.forward_joints]
        self.q_target[idx] = np.asarray(msg.data, dtype=np.float64)
        self.commands += 1

    # ------------------------------------------------------------------ loops
    def _step(self) -> None:
        if self._pilot is not None:
            self._obs, _, _, _, self.info = self.env.step(self._pilot.act(self._obs))
        else:
            self.info = self.env.step_joint_targets(self.q_target)
        self.pub_success.publish(Bool(data=bool(self.info["success"])))
        self.pub_stage.publish(String(data=str(self.info["stage"])))

    def _publish_joints(self) -> None:
        q, dq = self.env.get_joint_state()
        msg = JointState(name=self.joint_names, position=np.asarray(q, float).tolist(),
                         velocity=np.asarray(dq, float).tolist())
        msg.header.stamp = self.get_clock().now().to_msg()
        self.pub_js.publish(msg)

    def _publish_images(self) -> None:
        stamp = self.get_clock().now().to_msg()
        for view, rgb in self.env.render_views().items():
            msg = fill_image_msg(Image(), rgb)
            msg.header.stamp = stamp
            msg.header.frame_id = f"camera_{view}"
            self.pub_img[view].publish(msg)

    def close(self) -> None:
        self.env.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point: ``robo-reward-sim-arm --ros-args -p task:=pick_place -p autopilot:=expert``."""
    return run_node(SimArmNode, argv)


if __name__ == "__main__":
    raise SystemExit(main())
