"""Policy node: runs a policy at ``rate_hz`` from ``/joint_states`` and cameras and commands ros2_control.

Inputs, outputs, safety and e-stop are described in :mod:`robo_reward.real.nodes._control` (command types
``trajectory`` -> ``/<controller_name>/joint_trajectory``, ``forward`` -> ``/forward_position_controller/commands``).
Extra input: ``progress_topic`` (std_msgs/Float32 from the reward node), given to the policy as
``obs["progress"]``. The policy returns a joint target delta: ``q_des = q + policy.act(obs)``.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from rclpy.node import Node
from std_msgs.msg import Float32

from robo_reward.real.images import MalformedImageError, image_to_rgb
from robo_reward.real.nodes._common import OUTPUT_QOS, declare, run_node
from robo_reward.real.nodes._control import ControlIO
from robo_reward.real.policies import Policy, make_policy
from robo_reward.real.safety import PANDA_ARM_JOINTS, PANDA_HOME


class PolicyNode(Node):
    """See module docstring. ``policy`` may be injected; otherwise built from the ``policy`` parameter."""

    def __init__(self, policy: Policy | None = None, node_name: str = "policy_node", **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        spec = declare(self, "policy", "scripted:hold",
                       "scripted:<hold|home|sine|constant> or <sac|td3|ppo|...>:<model.zip>", read_only=True)
        amp = declare(self, "action_amplitude", 0.02, "scripted policy amplitude (rad per tick)",
                      float_range=(0.0, 1.0))
        scale = declare(self, "action_scale", 0.05, "SB3 action [-1,1] -> rad per tick", float_range=(0.0, 1.0))
        progress_topic = declare(self, "progress_topic", "reward/progress", "std_msgs/Float32 progress input")
        self.io = ControlIO(self, keep_images=bool(getattr(policy, "wants_images", False)))
        names = self.io.limits.joint_names
        home = [PANDA_HOME[PANDA_ARM_JOINTS.index(n)] if n in PANDA_ARM_JOINTS else 0.0 for n in names]
        self.policy = policy if policy is not None else make_policy(spec, len(names), home=home, amplitude=amp,
                                                                    action_scale=scale)
        self.progress = float("nan")
        self._t0 = self.io.now()
        self.create_subscription(Float32, progress_topic, self._on_progress, OUTPUT_QOS)
        self.create_timer(1.0 / self.io.rate_hz, self._tick)
        self.get_logger().info(f"policy node: {spec} -> {self.io.command_type} at {self.io.rate_hz} Hz, "
                               f"joints {list(names)}")

    def _on_progress(self, msg: Float32) -> None:
        self.progress = float(msg.data)

    def _observation(self) -> dict[str, Any]:
        images: dict[str, np.ndarray] = {}
        for t, msg in self.io.images.items():
            try:
                images[t] = image_to_rgb(msg)
            except MalformedImageError:
                pass
        return {"q": self.io.joints.q.copy(), "dq": self.io.joints.dq.copy(), "images": images,
                "progress": self.progress, "t": self.io.now() - self._t0}

    def _tick(self) -> None:
        if not self.io.joints.ready:
            return
        q_des = None
        if self.io.inputs_ok():
            try:
                q_des = self.io.joints.q + np.asarray(self.policy.act(self._observation()), float).reshape(-1)
            except Exception as exc:  # a crashing policy must not take the safety loop down
                self.get_logger().error(f"policy failed, holding: {exc}", throttle_duration_sec=2.0)
        self.io.command(q_des)


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point: ``robo-reward-policy-node --ros-args -p command_type:=forward ...``."""
    return run_node(PolicyNode, argv)


if __name__ == "__main__":
    raise SystemExit(main())
