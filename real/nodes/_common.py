"""Shared helpers for the ROS 2 nodes: typed parameter declaration, QoS profiles, ``main`` boilerplate.

QoS choices (documented once here):

* ``SENSOR_QOS`` -- camera images and joint states: BEST_EFFORT, KEEP_LAST depth 2, VOLATILE. Late sensor data
  is useless, so nothing is retransmitted or queued deep (a best-effort subscription also matches reliable
  publishers such as most camera drivers).
* ``OUTPUT_QOS`` -- progress / reward / success / commands / diagnostics: RELIABLE, KEEP_LAST depth 10.
* ``LATCHED_QOS`` -- e-stop: RELIABLE + TRANSIENT_LOCAL depth 1, so a late-joining node still sees an engaged
  e-stop.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Sequence

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

logger = logging.getLogger(__name__)

SENSOR_QOS = QoSProfile(
    reliability=ReliabilityPolicy.BEST_EFFORT, history=HistoryPolicy.KEEP_LAST, depth=2,
    durability=DurabilityPolicy.VOLATILE,
)
OUTPUT_QOS = QoSProfile(reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST, depth=10)
LATCHED_QOS = QoSProfile(
    reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST, depth=1,
    durability=DurabilityPolicy.TRANSIENT_LOCAL,
)


def sensor_qos(depth: int) -> QoSProfile:
    """``SENSOR_QOS`` with another queue depth."""
    return QoSProfile(reliability=ReliabilityPolicy.BEST_EFFORT, history=HistoryPolicy.KEEP_LAST, depth=depth,
                      durability=DurabilityPolicy.VOLATILE)


def declare(
    node: Node,
    name: str,
    default: Any,
    description: str,
    *,
    float_range: tuple[float, float] | None = None,
    int_range: tuple[int, int] | None = None,
    choices: Sequence[str] | None = None,
    read_only: bool = False,
) -> Any:
    """Declare a typed parameter with a description and optional range; return its (validated) value.

    Ranges are enforced by rclpy on later ``set_parameters`` calls; values given at start-up are checked here
    too so a bad launch argument fails at once with a clear message.
    """
    desc = ParameterDescriptor(name=name, description=description, read_only=read_only)
    if float_range is not None:
        desc.floating_point_range = [FloatingPointRange(from_value=float(float_range[0]),
                                                        to_value=float(float_range[1]), step=0.0)]
    if int_range is not None:
        desc.integer_range = [IntegerRange(from_value=int(int_range[0]), to_value=int(int_range[1]), step=1)]
    if choices is not None:
        desc.additional_constraints = f"one of {list(choices)}"
    value = node.declare_parameter(name, default, desc).value
    check_value(name, value, float_range=float_range, int_range=int_range, choices=choices)
    return value


def check_value(
    name: str, value: Any, *, float_range: tuple[float, float] | None = None,
    int_range: tuple[int, int] | None = None, choices: Sequence[str] | None = None,
) -> None:
    """Raise ValueError naming the parameter, the allowed range and the value."""
    rng = float_range if float_range is not None else int_range
    if rng is not None and not (rng[0] <= value <= rng[1]):
        raise ValueError(f"parameter {name!r} must be in [{rng[0]}, {rng[1]}], got {value!r}; set it with "
                         f"`--ros-args -p {name}:=<value>` or in the params file")
    if choices is not None and value not in choices:
        raise ValueError(f"parameter {name!r} must be one of {list(choices)}, got {value!r}")


def stamp_to_ns(stamp: Any) -> int:
    """builtin_interfaces/Time -> int nanoseconds."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def ns_to_stamp(ns: int, msg: Any) -> Any:
    """Fill a builtin_interfaces/Time-like ``msg`` from int nanoseconds; returns msg."""
    msg.sec, msg.nanosec = int(ns // 1_000_000_000), int(ns % 1_000_000_000)
    return msg


def run_node(factory: Callable[[], Node], argv: Sequence[str] | None) -> int:
    """``rclpy.init`` + spin + clean shutdown (Ctrl-C and external shutdown are normal exits). Returns 0/1."""
    import rclpy
    from rclpy.executors import ExternalShutdownException

    rclpy.init(args=list(argv) if argv is not None else None)
    node: Node | None = None
    code = 0
    try:
        node = factory()
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except ValueError as exc:  # configuration errors: one clear line instead of a traceback
        logging.getLogger("robo_reward.real").error("%s", exc)
        code = 1
    finally:
        if node is not None:
            close = getattr(node, "close", None)
            if callable(close):
                close()
            node.destroy_node()
        rclpy.try_shutdown()
    return code
