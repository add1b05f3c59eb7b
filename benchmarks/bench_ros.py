"""ROS 2 bridge benchmarks (real processes, localhost DDS, a private domain id).

1. Latency: camera header stamp -> ``reward/stamp`` arrival, through a reward-node process, with ``--cameras``
   publishers at ``--hz`` for each image size in ``--sizes`` (the node resizes to 128 px; heuristic model).
2. Online fine-tuning from a weak start on the simulated arm (pick_place scene, ``launch/sim_arm.yaml`` with
   ``mode:=finetune``): SAC learns a bounded Cartesian residual (in the push frame, from the push on) on top of
   a scripted push that stops short (``base_policy:=weak_push stop_fraction:=0.5``; see
   :mod:`robo_reward.real.nodes.finetune_node`), with the reward node's shaped reward (PBRS on the ``heuristic``
   progress, or ``--reward-model DIR``) vs the sparse success reward, same SAC seed and same sim layouts.
   Success is the sim's ground truth (``/sim/success``) in both arms. The two arms run in parallel, each in its
   own DDS domain, at 10 Hz (real time: the sim and the loop are rate-limited); an episode ends on success,
   3 steps after the base has lifted off, or after ``--episode-steps``. Run directories live in
   ``--out-dir/seed<s>/<mode>`` and resume when re-run (kill-safe), so the benchmark can run in parts. Writes
   per-episode success/return of every arm and seed, moving averages and totals to ``--out`` (JSON) and the
   success-rate plot to ``--plot``.

    python benchmarks/bench_ros.py --skip-latency --episodes 150 --seeds 0 1 --reward-scale 20 \
        --updates-per-step 2 --lr 1e-3 --gamma 0.95 --out-dir runs/bench_ft2 \
        --out benchmarks/results/bench_ros_finetune.json --plot benchmarks/results/bench_ros_finetune.png
    python benchmarks/bench_ros.py --seconds 5 --skip-finetune         # latency only
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from robo_reward.data.atomic import atomic_write_json
from robo_reward.report.figure import pyplot, save_figure

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


def _env_for(domain: int) -> dict[str, str]:
    """Environment for node processes in their own DDS domain (does not touch os.environ)."""
    return {**os.environ, "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST", "ROS_DOMAIN_ID": str(domain),
            "PYTHONUNBUFFERED": "1"}


def read_rows(run_dir: Path) -> list[dict]:
    path = run_dir / "episodes.jsonl"
    rows = []
    for line in (path.read_text().splitlines() if path.exists() else []):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:  # torn last line of a killed run
            continue
    return rows


def moving_average(x: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over up to ``window`` values, (N,) -> (N,)."""
    c = np.concatenate([[0.0], np.cumsum(x, dtype=np.float64)])
    i = np.arange(1, len(x) + 1)
    lo = np.maximum(0, i - window)
    return (c[i] - c[lo]) / (i - lo)


def run_finetune(reward_mode: str, episodes: int, steps: int, domain: int, run_dir: Path,
                 launch_args: dict[str, str]) -> float:
    """Run (or resume) one fine-tuning arm until ``episodes`` are logged in ``run_dir``; returns wall seconds."""
    from robo_reward.real.bringup import Bringup, load_graph

    latest = run_dir / "latest.json"
    done = json.loads(latest.read_text())["episodes_done"] if latest.exists() else 0
    # the sim uses seed + (number of resets) per episode: starting at `done` keeps episode k on layout seed k + 1
    # when a run is resumed, so both arms see the same layouts in the same order
    graph = load_graph(ROOT / "launch" / "sim_arm.yaml", {
        "mode": "finetune", "run_dir": str(run_dir), "episodes": str(episodes), "episode_steps": str(steps),
        "reward_mode": reward_mode, "seed": str(done), **launch_args})
    t0 = time.monotonic()
    with Bringup(graph, env=_env_for(domain), log_dir=run_dir / "logs") as bring:
        proc = bring.procs["finetune_node"]
        proc.wait(timeout=120 + episodes * (steps / 10.0 + 15))
        if proc.returncode != 0:
            raise RuntimeError(f"finetune node ({reward_mode}) exited {proc.returncode}; see {run_dir}/logs")
    return time.monotonic() - t0


def summarise(rows: list[dict], window: int) -> dict[str, object]:
    succ = np.array([float(r["success"]) for r in rows])
    ret = np.array([float(r["return"]) for r in rows])
    ma = moving_average(succ, window) if len(succ) else succ
    last = succ[-50:] if len(succ) else np.array([np.nan])
    return {"episodes": len(rows), "success": succ.astype(int).tolist(), "return": ret.round(5).tolist(),
            "max_progress": [float(r["max_progress"]) for r in rows],
            "success_rate_all": float(succ.mean()) if len(succ) else float("nan"),
            "success_rate_last50": float(last.mean()),
            "success_rate_first50": float(succ[:50].mean()) if len(succ) else float("nan"),
            f"moving_avg{window}_final": float(ma[-1]) if len(ma) else float("nan"),
            f"moving_avg{window}": ma.round(4).tolist(), "mean_max_progress": float(np.mean(
                [r["max_progress"] for r in rows])) if rows else float("nan")}


def plot(results: dict[int, dict[str, dict]], window: int, path: Path) -> None:
    """Moving-average success per episode: one line per (reward mode, SAC seed)."""
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(7.5, 4.2), dpi=110)
    colours = {"shaped": "tab:blue", "sparse": "tab:orange"}
    styles = ["-", "--", ":", "-."]
    for k, (seed, arms) in enumerate(results.items()):
        for mode, r in arms.items():
            ma = np.asarray(r[f"moving_avg{window}"])
            ax.plot(np.arange(1, len(ma) + 1), ma, styles[k % len(styles)], color=colours.get(mode),
                    label=f"{mode}, seed {seed}: {sum(r['success'])}/{r['episodes']} "
                          f"(last 50: {r['success_rate_last50']:.2f})")
    ax.set_xlabel("episode")
    ax.set_ylabel(f"success rate (moving average, {window} episodes)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("ROS 2 sim arm: residual SAC on a weak push, shaped (reward node PBRS) vs sparse", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=100)


def bench_finetune(modes: list[str], episodes: int, steps: int, domain: int, out_dir: Path,
                   launch_args: dict[str, str], window: int, parallel: bool) -> dict[str, dict]:
    """Both arms (in parallel, one DDS domain each) -> per-arm summary; runs resume from ``out_dir/<mode>``."""
    from concurrent.futures import ThreadPoolExecutor

    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = {m: (m, episodes, steps, domain + i, out_dir / m, launch_args) for i, m in enumerate(modes)}
    with ThreadPoolExecutor(max_workers=len(modes) if parallel else 1) as pool:
        walls = {m: pool.submit(run_finetune, *a) for m, a in jobs.items()}
        wall = {m: f.result() for m, f in walls.items()}
    res = {}
    for m in modes:
        res[m] = {**summarise(read_rows(out_dir / m), window), "wall_s": round(wall[m], 1),
                  "run_dir": str(out_dir / m)}
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[128, 480])
    ap.add_argument("--cameras", type=int, default=3)
    ap.add_argument("--hz", type=float, default=30.0)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--episodes", type=int, default=150)
    ap.add_argument("--episode-steps", type=int, default=50)
    ap.add_argument("--modes", nargs="+", default=["shaped", "sparse"], choices=["shaped", "sparse"])
    ap.add_argument("--reward-model", default="heuristic", help="'heuristic' or a trained reward model dir")
    ap.add_argument("--stop-fraction", type=float, default=0.5)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0],
                    help="SAC seeds, run one after the other (every seed sees the same sim layouts, episode k on "
                         "layout k + 1); runs go to --out-dir/seed<s>/<mode>")
    ap.add_argument("--reward-scale", type=float, default=1.0, help="reward multiplier for SAC (both arms)")
    ap.add_argument("--updates-per-step", type=float, default=1.0)
    ap.add_argument("--lr", type=float, default=3e-4, help="SAC learning rate (both arms)")
    ap.add_argument("--gamma", type=float, default=0.99, help="discount of SAC and of the reward node's shaping")
    ap.add_argument("--window", type=int, default=20, help="moving-average window (episodes)")
    ap.add_argument("--sequential", action="store_true", help="run the arms one after the other")
    ap.add_argument("--out-dir", default="runs/bench_ft", help="run directories (resumed when re-run)")
    ap.add_argument("--skip-finetune", action="store_true")
    ap.add_argument("--skip-latency", action="store_true")
    ap.add_argument("--out", default="bench_ros.json")
    ap.add_argument("--plot", default="bench_ros_finetune.png")
    ap.add_argument("--domain", type=int, default=None,
                    help="DDS domain id of the latency probe; the fine-tuning arms use the next ids (default: "
                         "150 + pid %% 80)")
    a = ap.parse_args(argv)
    domain = a.domain if a.domain is not None else 150 + os.getpid() % 80
    res: dict[str, object] = {"latency": [], "finetune": {}, "note": "2 shared CPU cores, loaded machine"}
    for s in ([] if a.skip_latency else a.sizes):
        r = bench_latency(s, a.cameras, a.hz, a.seconds, domain)
        res["latency"].append(r)  # type: ignore[union-attr]
        sys.stdout.write(f"latency {a.cameras} cams {s}px @{a.hz}Hz: p50 {r['p50_ms']:.1f} ms, p99 "
                         f"{r['p99_ms']:.1f} ms, scored {r['sets_scored']}/{r['sets_sent']}\n")
    if not a.skip_finetune:
        base_args = {"reward_model": a.reward_model, "stop_fraction": str(a.stop_fraction),
                     "updates_per_step": str(a.updates_per_step), "reward_scale": str(a.reward_scale),
                     "sac_lr": str(a.lr), "gamma": str(a.gamma), "base_policy": "weak_push", "task": "pick_place"}
        per_seed: dict[int, dict[str, dict]] = {}
        for seed in a.seeds:
            launch_args = {**base_args, "finetune_seed": str(seed)}
            per_seed[seed] = bench_finetune(a.modes, a.episodes, a.episode_steps, domain + 1,
                                            Path(a.out_dir) / f"seed{seed}", launch_args, a.window,
                                            parallel=not a.sequential)
            for mode, r in per_seed[seed].items():
                sys.stdout.write(f"finetune seed {seed} {mode}: {r['episodes']} episodes, successes "
                                 f"{sum(r['success'])}, first 50 {r['success_rate_first50']:.3f}, last 50 "
                                 f"{r['success_rate_last50']:.3f}, moving avg({a.window}) at end "
                                 f"{r[f'moving_avg{a.window}_final']:.3f}, mean max progress "
                                 f"{r['mean_max_progress']:.3f}, {r['wall_s']:.0f} s\n")
            plot(per_seed, a.window, Path(a.plot))
        totals = {m: {"successes": int(sum(sum(per_seed[s][m]["success"]) for s in a.seeds)),
                      "episodes": int(sum(per_seed[s][m]["episodes"] for s in a.seeds)),
                      "successes_per_seed": [int(sum(per_seed[s][m]["success"])) for s in a.seeds],
                      f"moving_avg{a.window}_final_per_seed": [per_seed[s][m][f"moving_avg{a.window}_final"]
                                                                for s in a.seeds]}
                  for m in a.modes}
        res["finetune"] = {"config": {**base_args, "seeds": a.seeds, "episodes": a.episodes,
                                      "episode_steps": a.episode_steps, "window": a.window},
                           "totals": totals, "seeds": {str(s): per_seed[s] for s in a.seeds}}
    atomic_write_json(a.out, res)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
