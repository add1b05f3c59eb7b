"""Reward node: N camera topics -> paired frames -> progress model -> progress / shaped reward / success.

Subscriptions (``SENSOR_QOS``: best effort, depth ``queue_depth``): one ``sensor_msgs/Image`` per entry of
``image_topics`` (rgb8/bgr8/mono8, any size; resized to ``image_size``). Frames are paired across cameras by
header stamp within ``sync_tolerance_s`` (:class:`robo_reward.real.pairing.StampPairer`).

Publications (``OUTPUT_QOS``: reliable, depth 10):
  ``reward/progress`` std_msgs/Float32  Phi(s) in [0, 1]
  ``reward/shaped``   std_msgs/Float32  r = success_bonus * success + gamma * Phi(s') - Phi(s)  (0 on the first set)
  ``reward/success``  std_msgs/Bool     success_prob >= success_threshold
  ``reward/stamp``    std_msgs/Header   stamp of the newest frame in the scored set (for latency measurement)
  ``reward/stamped``  std_msgs/Float64MultiArray  the same set's outputs with its stamp, for consumers that must
                      match rewards to frames (the fine-tuning node): ``[stamp_sec, stamp_nanosec, progress,
                      shaped, success]`` (:data:`robo_reward.real.finetune.STAMPED_LAYOUT`; dims labelled)
  ``/diagnostics``    diagnostic_msgs/DiagnosticArray  latency p50/p99, rate, malformed / stale / dropped frames

Services: ``reward/reset_episode`` (std_srvs/Trigger): the next paired set starts a new episode
(``model.reset``). Frames stamped at or before the moment the reset is handled are dropped (counted as
``pre_reset_frames``): call it after the arm/scene reset has completed, so a frame rendered before the reset
and still in flight can never become the new episode's first set (whose potential is the baseline; the
heuristic model also takes its reference distance from it). The task is the dynamic string parameter ``task``: set it through the node's standard
``/<node>/set_parameters`` service (``ros2 param set /reward_node task pick_place``); models with a
``set_task(str)`` method get it forwarded.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any, Sequence

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import SetParametersResult
from rclpy.node import Node
from sensor_msgs.msg import Image
from std_msgs.msg import Bool, Float32, Float64MultiArray, Header, MultiArrayDimension
from std_srvs.srv import Trigger

from robo_reward.real.finetune import STAMPED_LAYOUT, StampedReward
from robo_reward.real.images import MalformedImageError, image_to_rgb, resize_rgb
from robo_reward.real.models import load_progress_model
from robo_reward.real.nodes._common import OUTPUT_QOS, declare, run_node, sensor_qos, stamp_to_ns
from robo_reward.real.pairing import StampPairer
from robo_reward.types import BatchedProgressModel

DEFAULT_TOPICS = ["/camera/front/image_raw", "/camera/side/image_raw"]


class RewardNode(Node):
    """See module docstring. ``model`` (num_envs=1) is injected, else built from the ``model`` parameter."""

    def __init__(self, model: BatchedProgressModel | None = None, node_name: str = "reward_node",
                 **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        self.topics: list[str] = list(declare(self, "image_topics", DEFAULT_TOPICS,
                                              "camera image topics (sensor_msgs/Image), one per view"))
        self.view_names: list[str] = list(declare(self, "views", ["front", "side"],
                                                  "model view name for each entry of image_topics (same order)"))
        self.model_spec: str = declare(self, "model", "heuristic",
                                       "'heuristic' or a trained reward model directory", read_only=True)
        self.image_size: int = declare(self, "image_size", 128, "frames are resized to image_size x image_size",
                                       int_range=(16, 1024))
        tol = declare(self, "sync_tolerance_s", 0.02, "max stamp spread of a paired frame set (s)",
                      float_range=(0.0, 1.0))
        depth = declare(self, "queue_depth", 2, "subscription depth per camera (best effort)", int_range=(1, 100))
        qsize = declare(self, "pair_queue_size", 5, "frames kept per camera while pairing", int_range=(1, 100))
        self.stale_after_s: float = declare(self, "stale_after_s", 0.5,
                                            "frames older than this at arrival are dropped as stale (s)",
                                            float_range=(0.001, 60.0))
        self.gamma: float = declare(self, "gamma", 0.99, "discount of the potential-based shaping",
                                    float_range=(0.0, 1.0))
        self.success_threshold: float = declare(self, "success_threshold", 0.5,
                                                "success_prob at or above this publishes success=True",
                                                float_range=(0.0, 1.0))
        self.success_bonus: float = declare(self, "success_bonus", 1.0, "task reward added on success",
                                            float_range=(0.0, 1000.0))
        period = declare(self, "diagnostics_period_s", 1.0, "diagnostics publish period (s)",
                         float_range=(0.05, 60.0))
        self.task: str = declare(self, "task", "", "task name / instruction forwarded to the model (dynamic)")
        if len(self.topics) != len(self.view_names):
            raise ValueError(f"image_topics has {len(self.topics)} entries but views has {len(self.view_names)}; "
                             "give one view name per camera topic")
        if len(set(self.topics)) != len(self.topics):
            raise ValueError(f"image_topics must be unique, got {self.topics}")
        self.model = model if model is not None else load_progress_model(self.model_spec, self.view_names, 1, task=self.task or None)
        if model is not None and sorted(model.views) != sorted(self.view_names):
            raise ValueError(f"injected model has views {list(model.views)} but views parameter is {self.view_names}")
        if self.task:
            self._forward_task(self.task)
        self.pairer: StampPairer[np.ndarray] = StampPairer(self.topics, int(tol * 1e9), qsize)
        self._view_of = dict(zip(self.topics, self.view_names))
        # counters
        self.received = {t: 0 for t in self.topics}
        self.malformed: dict[str, int] = {"encoding": 0, "size": 0, "empty": 0}
        self.stale = 0
        self.pre_reset = 0
        self._reset_after_ns = -1
        self.skipped_sets = 0
        self.scored = 0
        self._latency_ms: deque[float] = deque(maxlen=300)
        self._score_times: deque[float] = deque(maxlen=300)
        self._last_report: dict[str, int] = {}
        self._need_reset = True
        self._phi_prev = 0.0
        self.last_progress = float("nan")

        self.pub_progress = self.create_publisher(Float32, "reward/progress", OUTPUT_QOS)
        self.pub_reward = self.create_publisher(Float32, "reward/shaped", OUTPUT_QOS)
        self.pub_success = self.create_publisher(Bool, "reward/success", OUTPUT_QOS)
        self.pub_stamp = self.create_publisher(Header, "reward/stamp", OUTPUT_QOS)
        self.pub_stamped = self.create_publisher(Float64MultiArray, "reward/stamped", OUTPUT_QOS)
        self.pub_diag = self.create_publisher(DiagnosticArray, "/diagnostics", OUTPUT_QOS)
        for t in self.topics:
            self.create_subscription(Image, t, lambda msg, t=t: self._on_image(t, msg), sensor_qos(depth))
        self.create_service(Trigger, "reward/reset_episode", self._on_reset)
        self.add_on_set_parameters_callback(self._on_params)
        self.create_timer(period, self._publish_diagnostics)
        self.get_logger().info(f"reward node: {len(self.topics)} cameras {self.topics} -> views {self.view_names}, "
                               f"model={self.model_spec if model is None else type(model).__name__}")

    # ------------------------------------------------------------------ callbacks
    def _forward_task(self, task: str) -> None:
        set_task = getattr(self.model, "set_task", None)
        if callable(set_task):
            set_task(task)

    def _on_params(self, params: Sequence[Any]) -> SetParametersResult:
        for p in params:
            if p.name == "task":
                if not isinstance(p.value, str):
                    return SetParametersResult(successful=False, reason="task must be a string")
                self.task = p.value
                self._forward_task(p.value)
                self._need_reset = True
                self.get_logger().info(f"task set to {p.value!r}; next frame set starts a new episode")
            elif p.name in ("image_topics", "views", "image_size", "sync_tolerance_s", "queue_depth",
                            "pair_queue_size"):
                return SetParametersResult(successful=False, reason=f"{p.name} can only be set at start-up")
            elif p.name in ("gamma", "success_threshold", "success_bonus", "stale_after_s"):
                setattr(self, p.name, float(p.value))
        return SetParametersResult(successful=True)

    def _on_reset(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        self._need_reset = True
        self.pairer.reset()
        self._reset_after_ns = self.get_clock().now().nanoseconds
        response.success = True
        response.message = "episode reset: the next paired frame set starts a new episode"
        return response

    def _on_image(self, topic: str, msg: Image) -> None:
        self.received[topic] += 1
        now_ns = self.get_clock().now().nanoseconds
        stamp_ns = stamp_to_ns(msg.header.stamp)
        if now_ns - stamp_ns > self.stale_after_s * 1e9:
            self.stale += 1
            return
        if stamp_ns <= self._reset_after_ns:  # rendered before the episode reset: never the new episode's frame
            self.pre_reset += 1
            return
        try:
            img = resize_rgb(image_to_rgb(msg), self.image_size)
        except MalformedImageError as exc:
            self.malformed[exc.kind] += 1
            self.get_logger().warning(f"malformed image on {topic}: {exc}", throttle_duration_sec=2.0)
            return
        sets = self.pairer.add(topic, stamp_ns, img)
        if not sets:
            return
        self.skipped_sets += len(sets) - 1  # only the newest set is scored
        self._score(sets[-1].items, sets[-1].stamp_ns)

    def _score(self, items: dict[str, np.ndarray], stamp_ns: int) -> None:
        frames = {self._view_of[t]: img[None] for t, img in items.items()}
        if self._need_reset:
            out = self.model.reset([0], frames)
        else:
            out = self.model.step(frames)
        phi = float(out.progress[0])
        succ_prob = float(out.success_prob[0])
        success = succ_prob >= self.success_threshold
        if self._need_reset:
            reward = 0.0
            self._need_reset = False
        else:
            reward = self.success_bonus * float(success) + self.gamma * phi - self._phi_prev
        self._phi_prev = phi
        self.last_progress = phi
        self.pub_progress.publish(Float32(data=phi))
        self.pub_reward.publish(Float32(data=reward))
        self.pub_success.publish(Bool(data=success))
        hdr = Header(frame_id=self.task)
        hdr.stamp.sec, hdr.stamp.nanosec = stamp_ns // 1_000_000_000, stamp_ns % 1_000_000_000
        self.pub_stamp.publish(hdr)
        arr = Float64MultiArray(data=StampedReward(stamp_ns, phi, reward, success).to_array())
        arr.layout.dim = [MultiArrayDimension(label=",".join(STAMPED_LAYOUT), size=len(STAMPED_LAYOUT), stride=1)]
        self.pub_stamped.publish(arr)
        self.scored += 1
        self._latency_ms.append((self.get_clock().now().nanoseconds - stamp_ns) / 1e6)
        self._score_times.append(time.monotonic())

    # ------------------------------------------------------------------ diagnostics
    def counters(self) -> dict[str, int]:
        """Snapshot of all counters (for tests and diagnostics)."""
        out = {f"received/{t}": n for t, n in self.received.items()}
        out.update({f"malformed/{k}": n for k, n in self.malformed.items()})
        out["malformed_total"] = sum(self.malformed.values())
        out["stale_frames"] = self.stale
        out["pre_reset_frames"] = self.pre_reset
        out["dropped_frames"] = sum(self.pairer.dropped.values()) + sum(self.pairer.out_of_order.values())
        out["skipped_sets"] = self.skipped_sets
        out["scored_sets"] = self.scored
        return out

    def _publish_diagnostics(self) -> None:
        c = self.counters()
        now = time.monotonic()
        recent = [t for t in self._score_times if now - t <= 2.0]
        rate = (len(recent) - 1) / (recent[-1] - recent[0]) if len(recent) >= 2 and recent[-1] > recent[0] else 0.0
        lat = np.array(self._latency_ms) if self._latency_ms else np.array([np.nan])
        values = {
            "latency_p50_ms": f"{np.percentile(lat, 50):.3f}",
            "latency_p99_ms": f"{np.percentile(lat, 99):.3f}",
            "rate_hz": f"{rate:.2f}",
            "last_progress": f"{self.last_progress:.4f}",
            **{k: str(v) for k, v in c.items()},
        }
        worse = any(c[k] > self._last_report.get(k, 0) for k in ("malformed_total", "stale_frames", "dropped_frames"))
        got_frames = sum(self.received.values()) > 0
        level, message = DiagnosticStatus.OK, "ok"
        if worse:
            level, message = DiagnosticStatus.WARN, "malformed, stale or dropped frames since the last report"
        if got_frames and rate == 0.0:
            level, message = DiagnosticStatus.WARN, "frames arrive but no paired set was scored in the last 2 s"
        self._last_report = c
        status = DiagnosticStatus(level=level, name="robo_reward/reward_node", message=message,
                                  hardware_id=self.get_fully_qualified_name(),
                                  values=[KeyValue(key=k, value=v) for k, v in values.items()])
        arr = DiagnosticArray(status=[status])
        arr.header.stamp = self.get_clock().now().to_msg()
        self.pub_diag.publish(arr)


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point: ``robo-reward-reward-node --ros-args -p image_topics:="[...]" ...``."""
    return run_node(RewardNode, argv)


if __name__ == "__main__":
    raise SystemExit(main())
