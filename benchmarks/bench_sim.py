"""Benchmark the PyBullet suite: control steps/s without rendering, with 1-3 views at 96/128 px in full and fast
render quality, and recording throughput. Prints a table and writes JSON (``--out``). Medians over repeats.

    python benchmarks/bench_sim.py --out bench_sim.json [--repeats 3] [--steps 20] [--task pick_place]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import numpy as np

from robo_reward.data.atomic import atomic_write_json
from robo_reward.sim.env import make_env
from robo_reward.sim.policies import make_policy
from robo_reward.sim.record import RecordConfig, run


def steps_per_s(task: str, views: tuple[str, ...], size: int, quality: str, steps: int, repeats: int) -> float:
    env = make_env(task, views=views or ("front",), image_size=size, render_quality=quality)
    try:
        rates = []
        for r in range(repeats):
            obs, _ = env.reset(seed=r)
            pol = make_policy(env, "noisy_expert", r)
            pol.reset()
            t0 = time.perf_counter()
            for _ in range(steps):
                obs, *_ = env.step(pol.act(obs))
                if views:
                    env.render_views(views)
            rates.append(steps / (time.perf_counter() - t0))
        return statistics.median(rates)
    finally:
        env.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="bench_sim.json")
    ap.add_argument("--task", default="pick_place")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--record-episodes", type=int, default=4)
    args = ap.parse_args()

    rows = [{"views": 0, "size": 0, "quality": "-", "steps_per_s": steps_per_s(args.task, (), 96, "full", 60,
                                                                            args.repeats)}]
    all_views = ("front", "side", "wrist")
    for quality in ("full", "fast"):
        for size in (96, 128):
            for n in (1, 2, 3):
                sps = steps_per_s(args.task, all_views[:n], size, quality, args.steps, args.repeats)
                rows.append({"views": n, "size": size, "quality": quality, "steps_per_s": sps,
                             "ms_per_view": 1000.0 / sps / n})
    record = {}
    for quality in ("full", "fast"):
        with tempfile.TemporaryDirectory() as tmp:
            s = run(RecordConfig(task=args.task, episodes=args.record_episodes, outcome="success", image_size=96,
                                 render_quality=quality, out=f"{tmp}/ds", workers=2))
        record[quality] = {k: s[k] for k in ("episodes", "frames", "seconds", "episodes_per_min", "frames_per_s")}

    print(f"{'views':>5} {'size':>5} {'quality':>7} {'steps/s':>9} {'ms/view':>8}")
    for r in rows:
        print(f"{r['views']:>5} {r['size']:>5} {r['quality']:>7} {r['steps_per_s']:>9.1f} "
              f"{r.get('ms_per_view', float('nan')):>8.1f}")
    for q, s in record.items():
        print(f"record ({q}, 3 views @96, 2 workers): {s['episodes_per_min']:.1f} episodes/min, "
              f"{s['frames_per_s']:.1f} frames/s")
    result = {"task": args.task, "repeats": args.repeats, "steps": args.steps, "control": rows, "record": record,
              "note": "2-core machine shared with other jobs; numbers are noisy"}
    atomic_write_json(args.out, result, indent=2)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
