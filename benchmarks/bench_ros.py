"""ROS 2 bridge benchmarks (real processes, localhost DDS, a private domain id).

1. Latency: camera header stamp -> ``reward/stamp`` arrival, through a reward-node process, with ``--cameras``
   publishers at ``--hz`` for each image size in ``--sizes`` (the node resizes to 128 px; heuristic model).
2. Fine-tuning from a weak start (randomly initialised SAC) on the simulated arm for ``--episodes`` episodes,
   shaped (reward node) vs sparse (success only) reward; reports success rate and mean max progress.

    python benchmarks/bench_ros.py --seconds 5 --episodes 2 --episode-steps 6 --out bench_ros.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _env(domain: int) -> dict[str, str]:
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    os.environ["ROS_DOMAIN_ID"] = str(domain)
    return dict(os.environ)


def bench_latency(size: int, cameras: int, hz: float, seconds: float, domain: int) -> dict[str, float]:
    import rclpy
    from rclpy.context import Context
    from rclpy.executors import SingleThreadedExecutor
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header

    from robo_reward.real.bringup import Bringup, Graph, NodeSpec
    from robo_reward.real.images import fill_image_msg

    topics = [f"/bench/cam{i}/image_raw" for i in range(cameras)]
    spec = NodeSpec("reward_node", "robo_reward.real.nodes.reward_node:main",
                    parameters={"image_topics": topics, "views": [f"v{i}" for i in range(cameras)],
                                "image_size": 128, "queue_depth": 2, "stale_after_s": 1.0})
    ctx = Context()
    rclpy.init(context=ctx, domain_id=domain)
    node = rclpy.create_node("bench_probe", context=ctx)
    ex = SingleThreadedExecutor(context=ctx)
    ex.add_node(node)
    lat: list[float] = []
    node.create_subscription(Header, "/reward/stamp", lambda m: lat.append(
        (node.get_clock().now().nanoseconds - (m.stamp.sec * 10**9 + m.stamp.nanosec)) / 1e6), 100)
    pubs = [node.create_publisher(Image, t, 2) for t in topics]
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
    img[size // 3: size // 2, size // 3: size // 2] = (215, 40, 40)
    img[size // 2: 2 * size // 3, size // 2: 2 * size // 3] = (50, 190, 60)
    msgs = [fill_image_msg(Image(), img) for _ in topics]
    sent = 0
    with Bringup(Graph({}, [spec]), env=_env(domain)) as bring:
        deadline = time.monotonic() + 60
        while not lat and time.monotonic() < deadline:  # warm-up: wait for the node
            stamp = node.get_clock().now().to_msg()
            for p, m in zip(pubs, msgs):
                m.header.stamp = stamp
                p.publish(m)
            ex.spin_once(timeout_sec=0.1)
        lat.clear()
        t_end = time.monotonic() + seconds
        nxt = time.monotonic()
        while time.monotonic() < t_end:
            stamp = node.get_clock().now().to_msg()
            for p, m in zip(pubs, msgs):
                m.header.stamp = stamp
                p.publish(m)
            sent += 1
            nxt += 1.0 / hz
            while time.monotonic() < nxt:
                ex.spin_once(timeout_sec=max(0.0, nxt - time.monotonic()))
        t_drain = time.monotonic() + 0.5
        while time.monotonic() < t_drain:
            ex.spin_once(timeout_sec=0.05)
        dead = bring.dead()
    ex.shutdown()
    node.destroy_node()
    rclpy.shutdown(context=ctx)
    arr = np.array(lat) if lat else np.array([np.nan])
    return {"image_px": size, "cameras": cameras, "hz": hz, "sets_sent": sent, "sets_scored": len(lat),
            "p50_ms": float(np.percentile(arr, 50)), "p99_ms": float(np.percentile(arr, 99)),
            "node_died": bool(dead)}


def bench_finetune(reward_mode: str, episodes: int, steps: int, domain: int, task: str) -> dict[str, float]:
    from robo_reward.real.bringup import Bringup, load_graph

    run_dir = Path(tempfile.mkdtemp(prefix=f"bench_ft_{reward_mode}_"))
    graph = load_graph(ROOT / "launch" / "sim_arm.yaml", {
        "mode": "finetune", "task": task, "run_dir": str(run_dir), "episodes": str(episodes),
        "episode_steps": str(steps), "reward_mode": reward_mode})
    t0 = time.monotonic()
    with Bringup(graph, env=_env(domain)) as bring:
        proc = bring.procs["finetune_node"]
        proc.wait(timeout=60 + episodes * (steps / 10.0 + 10))
    rows = [json.loads(x) for x in (run_dir / "episodes.jsonl").read_text().splitlines()]
    return {"reward_mode": reward_mode, "episodes": len(rows), "episode_steps": steps,
            "success_rate": float(np.mean([r["success"] for r in rows])),
            "mean_max_progress": float(np.mean([r["max_progress"] for r in rows])),
            "wall_s": time.monotonic() - t0, "run_dir": str(run_dir)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[128, 480])
    ap.add_argument("--cameras", type=int, default=3)
    ap.add_argument("--hz", type=float, default=30.0)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--episodes", type=int, default=2)
    ap.add_argument("--episode-steps", type=int, default=6)
    ap.add_argument("--task", default="pick_place")
    ap.add_argument("--skip-finetune", action="store_true")
    ap.add_argument("--out", default="bench_ros.json")
    a = ap.parse_args(argv)
    domain = 150 + os.getpid() % 80
    res: dict[str, object] = {"latency": [], "finetune": [], "note": "2 shared CPU cores, loaded machine"}
    for s in a.sizes:
        r = bench_latency(s, a.cameras, a.hz, a.seconds, domain)
        res["latency"].append(r)  # type: ignore[union-attr]
        sys.stdout.write(f"latency {a.cameras} cams {s}px @{a.hz}Hz: p50 {r['p50_ms']:.1f} ms, p99 "
                         f"{r['p99_ms']:.1f} ms, scored {r['sets_scored']}/{r['sets_sent']}\n")
    if not a.skip_finetune:
        for mode in ("shaped", "sparse"):
            r = bench_finetune(mode, a.episodes, a.episode_steps, domain, a.task)
            res["finetune"].append(r)  # type: ignore[union-attr]
            sys.stdout.write(f"finetune {mode}: {r['episodes']} episodes, success {r['success_rate']:.2f}, "
                             f"mean max progress {r['mean_max_progress']:.3f}, {r['wall_s']:.0f} s\n")
    Path(a.out).write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
