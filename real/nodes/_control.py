"""Command side shared by the policy and fine-tuning nodes: inputs, safety filter, ros2_control output.

Inputs: ``joint_states_topic`` (sensor_msgs/JointState), ``image_topics`` (sensor_msgs/Image; watched by the
watchdog, kept for image policies), ``estop_topic`` (std_msgs/Bool, reliable: ``True`` latches the e-stop,
``False`` does NOT release it). Input age for the watchdog is measured from arrival at this node.

Output (``command_type``): ``trajectory`` -> trajectory_msgs/JointTrajectory on
``/<controller_name>/joint_trajectory`` (one point, ``time_from_start`` = ``trajectory_horizon_s``) for
joint_trajectory_controller; ``forward`` -> std_msgs/Float64MultiArray on ``forward_topic`` (positions in
``joint_names`` order) for forward_command_controller. Every command passes
:class:`robo_reward.real.safety.SafetyFilter`.

Service ``policy/reset_estop`` (std_srvs/Trigger) releases the latch; ``policy/estopped`` (std_msgs/Bool,
latched QoS) reports it.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from builtin_interfaces.msg import Duration
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.node import Node
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Bool, Float64MultiArray
from std_srvs.srv import Trigger
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from robo_reward.real.nodes._common import LATCHED_QOS, OUTPUT_QOS, SENSOR_QOS, declare
from robo_reward.real.safety import (
    PANDA_ARM_JOINTS, PANDA_JOINT_LIMITS, PANDA_WORKSPACE_MAX, PANDA_WORKSPACE_MIN, SafetyDecision, SafetyFilter,
    SafetyLimits,
)

COMMAND_TYPES = ("trajectory", "forward")
DEFAULT_CAMERAS = ["/camera/front/image_raw", "/camera/side/image_raw"]


def _default_limits(names: Sequence[str], col: int) -> list[float]:
    return [PANDA_JOINT_LIMITS[n][col] if n in PANDA_JOINT_LIMITS else float("nan") for n in names]


class JointStateCache:
    """Latest positions/velocities of the commanded joints, by name."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = list(names)
        self.q = np.full(len(names), np.nan)
        self.dq = np.zeros(len(names))

    def update(self, msg: JointState) -> bool:
        """Take the commanded joints from ``msg``; returns False if one of them is missing."""
        index = {n: i for i, n in enumerate(msg.name)}
        if not all(n in index for n in self.names):
            return False
        for k, n in enumerate(self.names):
            i = index[n]
            self.q[k] = msg.position[i]
            self.dq[k] = msg.velocity[i] if i < len(msg.velocity) else 0.0
        return True

    @property
    def ready(self) -> bool:
        return bool(np.all(np.isfinite(self.q)))


class ControlIO:
    """Declares the control parameters on ``node`` and wires inputs, safety and the command publisher."""

    def __init__(self, node: Node, keep_images: bool = False) -> None:
        self.node = node
        names = list(declare(node, "joint_names", list(PANDA_ARM_JOINTS), "commanded joints, in command order"))
        self.command_type: str = declare(node, "command_type", "trajectory",
                                         "trajectory (JointTrajectory) or forward (Float64MultiArray)",
                                         choices=COMMAND_TYPES)
        controller = declare(node, "controller_name", "joint_trajectory_controller",
                             "ros2_control controller for command_type=trajectory")
        forward_topic = declare(node, "forward_topic", "/forward_position_controller/commands",
                                "command topic for command_type=forward")
        self.rate_hz: float = declare(node, "rate_hz", 20.0, "control rate (Hz)", float_range=(0.5, 1000.0))
        self.horizon_s: float = declare(node, "trajectory_horizon_s", 0.1,
                                        "time_from_start of the trajectory point (s)", float_range=(0.001, 10.0))
        image_topics = list(declare(node, "image_topics", DEFAULT_CAMERAS,
                                    "camera topics watched by the watchdog (and given to image policies)"))
        js_topic = declare(node, "joint_states_topic", "/joint_states", "sensor_msgs/JointState input")
        estop_topic = declare(node, "estop_topic", "/estop", "std_msgs/Bool; True latches the e-stop")
        watchdog = declare(node, "watchdog_timeout_s", 0.2, "hold when any input is older than this (s)",
                           float_range=(0.01, 10.0))
        max_step = declare(node, "max_step", 0.05, "max change per command and joint (rad or m)",
                           float_range=(1e-5, 1.0))
        q_min = declare(node, "q_min", _default_limits(names, 0), "lower position limits (Panda defaults)")
        q_max = declare(node, "q_max", _default_limits(names, 1), "upper position limits (Panda defaults)")
        dq_max = declare(node, "dq_max", _default_limits(names, 2), "velocity limits per second (Panda defaults)")
        ws_min = declare(node, "workspace_min", list(PANDA_WORKSPACE_MIN), "TCP box lower corner xyz (m, base)")
        ws_max = declare(node, "workspace_max", list(PANDA_WORKSPACE_MAX), "TCP box upper corner xyz (m, base)")
        check_ws = declare(node, "check_workspace", True, "enforce the TCP workspace box (Panda FK)")
        for nm, arr in (("q_min", q_min), ("q_max", q_max), ("dq_max", dq_max)):
            if len(arr) != len(names) or not np.all(np.isfinite(arr)):
                raise ValueError(f"parameter {nm!r} needs one finite value per joint in joint_names ({names}), got "
                                 f"{list(arr)}; Panda defaults exist only for {sorted(PANDA_JOINT_LIMITS)}")
        self.limits = SafetyLimits(tuple(names), np.array(q_min), np.array(q_max), np.array(dq_max),
                                   max_step=max_step, workspace_min=np.array(ws_min), workspace_max=np.array(ws_max),
                                   watchdog_timeout_s=watchdog, check_workspace=bool(check_ws))
        self.safety = SafetyFilter(self.limits)
        self.joints = JointStateCache(names)
        self.last_seen: dict[str, float | None] = {js_topic: None, **{t: None for t in image_topics}}
        self.keep_images = keep_images
        self.images: dict[str, Image] = {}
        self.commands_sent = 0
        self.last_reasons: tuple[str, ...] = ()
        if self.command_type == "trajectory":
            self.pub_cmd = node.create_publisher(JointTrajectory, f"/{controller}/joint_trajectory", OUTPUT_QOS)
        else:
            self.pub_cmd = node.create_publisher(Float64MultiArray, forward_topic, OUTPUT_QOS)
        self.pub_estop = node.create_publisher(Bool, "policy/estopped", LATCHED_QOS)
        self.pub_diag = node.create_publisher(DiagnosticArray, "/diagnostics", OUTPUT_QOS)
        node.create_subscription(JointState, js_topic, lambda m: self._on_joints(js_topic, m), SENSOR_QOS)
        for t in image_topics:
            node.create_subscription(Image, t, lambda m, t=t: self._on_image(t, m), SENSOR_QOS)
        node.create_subscription(Bool, estop_topic, self._on_estop, OUTPUT_QOS)
        node.create_service(Trigger, "policy/reset_estop", self._on_reset_estop)
        node.create_timer(1.0, self.publish_diagnostics)
        self.pub_estop.publish(Bool(data=False))

    def now(self) -> float:
        return self.node.get_clock().now().nanoseconds * 1e-9

    # ------------------------------------------------------------------ inputs
    def _on_joints(self, topic: str, msg: JointState) -> None:
        if self.joints.update(msg):
            self.last_seen[topic] = self.now()

    def _on_image(self, topic: str, msg: Image) -> None:
        self.last_seen[topic] = self.now()
        if self.keep_images:
            self.images[topic] = msg

    def _on_estop(self, msg: Bool) -> None:
        if msg.data and not self.safety.estopped:
            self.safety.engage_estop()
            self.node.get_logger().error("E-STOP engaged: holding; call policy/reset_estop to release")
            self.pub_estop.publish(Bool(data=True))

    def _on_reset_estop(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        was = self.safety.estopped
        self.safety.reset_estop()
        self.pub_estop.publish(Bool(data=False))
        response.success = True
        response.message = "e-stop released" if was else "e-stop was not engaged"
        return response

    # ------------------------------------------------------------------ output
    def inputs_ok(self) -> bool:
        """Joint state known, all inputs fresh and no e-stop."""
        return (self.joints.ready and not self.safety.estopped
                and not self.safety.stale_inputs(self.last_seen, self.now()))

    def command(self, q_des: np.ndarray | None) -> SafetyDecision | None:
        """Filter ``q_des`` (J,) (None = hold) and publish; returns the decision (None before any joint state)."""
        if not self.joints.ready:
            return None
        q = self.joints.q.copy()
        decision = self.safety.filter(q, q if q_des is None else q_des, 1.0 / self.rate_hz, self.last_seen,
                                      self.now())
        self.last_reasons = decision.reasons
        if decision.command is not None:
            self._send(decision.command)
        return decision

    def _send(self, cmd: np.ndarray) -> None:
        if self.command_type == "trajectory":
            msg = JointTrajectory(joint_names=list(self.limits.joint_names))
            sec = int(self.horizon_s)
            msg.points = [JointTrajectoryPoint(positions=cmd.tolist(), time_from_start=Duration(
                sec=sec, nanosec=int((self.horizon_s - sec) * 1e9)))]
        else:
            msg = Float64MultiArray(data=cmd.tolist())
        self.pub_cmd.publish(msg)
        self.commands_sent += 1

    def publish_diagnostics(self, extra: dict[str, Any] | None = None) -> None:
        s = self.safety
        level = DiagnosticStatus.ERROR if s.estopped else (
            DiagnosticStatus.WARN if any(r.startswith("watchdog") for r in self.last_reasons) else DiagnosticStatus.OK)
        values = {"estopped": str(s.estopped), "commands_sent": str(self.commands_sent),
                  "last_reasons": ",".join(self.last_reasons),
                  **{f"clamped/{k}": str(v) for k, v in s.counters.items()},
                  **{k: str(v) for k, v in (extra or {}).items()}}
        status = DiagnosticStatus(level=level, name=f"robo_reward/{self.node.get_name()}",
                                  message=",".join(self.last_reasons) or "ok",
                                  hardware_id=self.node.get_fully_qualified_name(),
                                  values=[KeyValue(key=k, value=v) for k, v in values.items()])
        arr = DiagnosticArray(status=[status])
        arr.header.stamp = self.node.get_clock().now().to_msg()
        self.pub_diag.publish(arr)
