"""Time the adapt/score command-line contract: ``robo-reward adapt`` on a 150-frame, two-view demo (embedding
included, fresh process: the first run) and ``robo-reward score`` on a 150-frame episode.

Targets (few-shot adaptation issue): adapt <= 60 s, score <= 5 s on a 2-core CPU.

The demo and the scored episode are pick_place expert rollouts of the sim suite (front + side cameras, control at
48 Hz with a sixth of the default hand step, so that an episode has about 170 frames, subsampled to ``--frames``),
written as mp4. Each command runs ``--repeats`` times in a fresh Python process; the script reports the median
wall time of the process and the median time the command measures itself (adapt: load + embed + fit + base +
write; score: its ``timing``), i.e. without the Python/torch start-up.

    OMP_NUM_THREADS=1 python benchmarks/bench_adapt_timing.py --base-model runs/main/reward/model \\
        --json benchmarks/results/adapt_timing.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from robo_reward.adapt.pipeline import subsample_index
from robo_reward.data.atomic import atomic_write_json
from robo_reward.data.video import write_video


def record_videos(out: Path, seed: int, frames: int, size: int, views: tuple[str, ...]) -> int:
    """One pick_place expert episode as ``out/<view>.mp4`` with exactly ``frames`` frames; returns the count."""
    from robo_reward.sim.env import make_env
    from robo_reward.sim.policies import make_policy
    from robo_reward.sim.record import record_episode

    env = make_env("pick_place", views=views, image_size=size, render_quality="fast", control_hz=48,
                   max_step=0.005, max_episode_steps=4 * frames)  # a sixth of the default step: ~5x the frames
    try:
        ep = record_episode(env, make_policy(env, "expert", seed=seed), seed=seed)
    finally:
        env.close()
    idx = subsample_index(len(ep.frames[views[0]]), frames)
    for v in views:
        write_video(out / f"{v}.mp4", ep.frames[v][idx], fps=48.0)
    return len(idx)


def _run(cmd: list[str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        sys.exit(f"{' '.join(cmd[:3])} failed ({res.returncode}): {res.stderr.strip()[-500:]}")
    return wall, res.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--image-size", type=int, default=192, help="rendered frame side (the contract: 128-256 px)")
    ap.add_argument("--views", nargs="+", default=["front", "side"])
    ap.add_argument("--base-model", default=None, help="also time `adapt --base` with this trained reward model")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", default="bench_adapt_timing.json")
    args = ap.parse_args()
    exe = [sys.executable, "-m", "robo_reward.cli.main"]
    rows: dict[str, dict[str, list[float]]] = {}
    parts: dict[str, list[dict[str, float]]] = {}

    def log(name: str, r: int, wall: float, inside: float) -> None:
        row = rows.setdefault(name, {"wall_s": [], "command_s": []})
        row["wall_s"].append(wall)
        row["command_s"].append(inside)
        print(f"{name:14s} run {r}: {wall:5.1f} s wall, {inside:5.1f} s inside the command", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        n_demo = record_videos(root / "demo", 0, args.frames, args.image_size, tuple(args.views))
        n_ep = record_videos(root / "episode", 1, args.frames, args.image_size, tuple(args.views))
        variants = [("adapt", [])] + ([("adapt --base", ["--base", args.base_model])] if args.base_model else [])
        for name, extra in variants:
            for r in range(args.repeats):
                out = root / f"reward_{len(rows)}_{r}"
                wall, stdout = _run([*exe, "adapt", "--demo", str(root / "demo"), "--task", "pick up the cube and place it",
                                     "--out", str(out), *extra])
                log(name, r, wall, float(re.search(r"([0-9.]+) s\s*$", stdout.strip()).group(1)))
            scored = root / "score.json"
            for r in range(args.repeats):
                wall, _ = _run([*exe, "score", "--reward", str(out), "--episode", str(root / "episode"), "--out", str(scored)])
                timing = json.loads(scored.read_text())["timing"]
                log(f"score ({name})", r, wall, timing["total_s"])
                parts.setdefault(f"score ({name})", []).append(timing)  # load / backbone build / embed / heads
    med = {k: {m: float(np.median(v)) for m, v in row.items()} for k, row in rows.items()}
    print(f"\ndemo {n_demo} frames, episode {n_ep} frames, views {args.views}, {args.image_size} px, "
          f"{args.repeats} runs each, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}; medians:")
    for k, m in med.items():
        target = 5.0 if k.startswith("score") else 60.0
        print(f"  {k:22s} {m['command_s']:5.1f} s inside the command, {m['wall_s']:5.1f} s wall "
              f"(target <= {target:.0f} s: {'met' if m['command_s'] <= target else 'MISSED'})")
        if k in parts:
            split = {p: float(np.median([t[p] for t in parts[k]])) for p in parts[k][0] if p != "total_s"}
            print("    " + ", ".join(f"{p} {v:.2f} s" for p, v in split.items()))
            med[k]["parts_s"] = split
    atomic_write_json(args.json, {"args": vars(args), "demo_frames": n_demo, "episode_frames": n_ep,
                                  "runs": rows, "median": med, "score_timing": parts}, indent=2)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
