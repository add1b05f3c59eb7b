"""Run the simulated-arm ROS 2 graph (launch/sim_arm.yaml) for a few episodes and record what the reward
node published: the live counterpart of ``robo-reward score``, used by the main job's report.

Every process gets ``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST`` and the given ``ROS_DOMAIN_ID``, so traffic
stays on loopback.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from robo_reward.real.bringup import Bringup, load_graph

logger = logging.getLogger(__name__)

GRAPH = Path(__file__).resolve().parent.parent / "launch" / "sim_arm.yaml"


def ros_available() -> bool:
    """True when rclpy and the message packages import (the `ros` extra is installed)."""
    try:
        import rclpy  # noqa: F401
        from sensor_msgs.msg import Image  # noqa: F401
        from std_msgs.msg import Bool, Float32  # noqa: F401
    except Exception:  # ImportError, or the ROS libraries failing to load
        return False
    return True


def spin_until(executor: Any, seconds: float, until: Callable[[], bool] | None = None) -> bool:
    """Spin ``executor`` for up to ``seconds``; stop early (returning True) once ``until()`` holds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.01)
        if until is not None and until():
            return True
    return until is None


@dataclass
class LiveEpisode:
    autopilot: str
    progress: list[float]  # as published on /reward/progress, in order
    stamps: list[float]  # seconds since the episode's reset
    success: bool  # ground truth from /sim/success


def _graph_path() -> Path:
    # Installed wheel: launch/ is not a package; fall back to the repository checkout.
    for cand in (GRAPH, Path.cwd() / "launch" / "sim_arm.yaml"):
        if cand.is_file():
            return cand
    raise FileNotFoundError(f"launch/sim_arm.yaml not found (looked at {GRAPH}); run from the repository checkout")


def run_live_episodes(
    reward_model: str,
    task: str,
    autopilots: Sequence[str] = ("expert", "missed_grasp"),
    seconds: float = 12.0,
    views: Sequence[str] = ("front", "side"),
    image_size: int = 64,
    domain_id: int | None = None,
    log_dir: str | os.PathLike[str] | None = None,
) -> list[LiveEpisode]:
    """Bring up sim arm + reward node, run one episode per autopilot mode, return the published progress."""
    import rclpy
    from rclpy.context import Context
    from rclpy.executors import SingleThreadedExecutor
    from std_msgs.msg import Bool, Float32
    from std_srvs.srv import Trigger

    domain = domain_id if domain_id is not None else 150 + os.getpid() % 80
    env = {**os.environ, "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST", "ROS_DOMAIN_ID": str(domain), "PYTHONUNBUFFERED": "1"}
    ctx = Context()
    rclpy.init(context=ctx, domain_id=domain)
    node = rclpy.create_node(f"robo_reward_live_{os.getpid()}", context=ctx)
    ex = SingleThreadedExecutor(context=ctx)
    ex.add_node(node)

    def spin(seconds: float, until: Callable[[], bool] | None = None) -> bool:
        return spin_until(ex, seconds, until)

    def trigger(name: str, timeout: float = 15.0) -> bool:
        cli = node.create_client(Trigger, name)
        try:
            if not spin(timeout, cli.service_is_ready):
                raise RuntimeError(f"service {name} did not come up within {timeout:.0f} s")
            fut = cli.call_async(Trigger.Request())
            if not spin(timeout, fut.done):
                raise RuntimeError(f"service {name} did not answer within {timeout:.0f} s")
            return bool(fut.result().success)
        finally:
            node.destroy_client(cli)

    progress: list[float] = []
    stamps: list[float] = []
    success: list[bool] = []
    t0 = [time.monotonic()]
    node.create_subscription(Float32, "/reward/progress", lambda m: (progress.append(float(m.data)), stamps.append(time.monotonic() - t0[0])), 10)
    node.create_subscription(Bool, "/sim/success", lambda m: success.append(bool(m.data)), 10)
    out: list[LiveEpisode] = []
    view_list = "[" + ", ".join(views) + "]"
    topics = "[" + ", ".join(f"/camera/{v}/image_raw" for v in views) + "]"
    try:
        for k, mode in enumerate(autopilots):
            graph = load_graph(
                _graph_path(),
                {"autopilot": mode, "mode": "none", "seed": str(k), "task": task, "reward_model": str(reward_model),
                 "views": view_list, "image_topics": topics, "image_size": str(image_size)},
            )
            run_log = Path(log_dir) / mode if log_dir is not None else None
            with Bringup(graph, env=env, log_dir=run_log) as bring:
                if not spin(120.0, lambda: len(progress) > 2):
                    raise RuntimeError(f"no progress published within 120 s; reward node log:\n{bring.log('reward_node')[-2000:]}")
                trigger("/sim/reset")
                trigger("/reward/reset_episode")
                progress.clear(), stamps.clear(), success.clear()
                t0[0] = time.monotonic()
                spin(seconds, lambda: len(success) > 5 and success[-1] and len(progress) > 5)
                spin(0.5)
                dead = bring.dead()
                if dead:
                    raise RuntimeError(f"ROS 2 nodes exited early: {dead}")
            out.append(LiveEpisode(mode, list(progress), list(stamps), any(success)))
            logger.info("live %s: %d progress messages, final %.2f, success=%s", mode, len(progress),
                        progress[-1] if progress else float("nan"), any(success))
    finally:
        ex.shutdown()
        node.destroy_node()
        rclpy.shutdown(context=ctx)
    return out


def summarize(episodes: Sequence[LiveEpisode]) -> dict[str, Any]:
    return {
        e.autopilot: {"messages": len(e.progress), "final_progress": e.progress[-1] if e.progress else None,
                      "max_progress": max(e.progress) if e.progress else None, "success": e.success}
        for e in episodes
    }
