"""Few-shot adaptation benchmark: leave-one-task-out over the sim suite, with domain randomisation.

For each task: record one successful demo (randomisation seed A), adapt from its videos (written to disk and read
back, as a user would), then score held-out episodes recorded with other randomisation seeds (other colours,
lighting, camera poses): >= N successes, >= N failures, and the N successes time-reversed. Figures per task:

* ``voc``: mean Spearman(progress, frame index) on successes (target >= 0.9)
* ``voc_reversed``: the same on the reversed successes (target <= -0.8)
* ``auroc``: successes vs failures from the final progress (target >= 0.95)

Methods: ``adapted`` (robo_reward.adapt), ``goal_distance`` (VIP-style baseline, demo's last frame as goal) and
``base`` (a base reward model with no adaptation; only when ``--base-model`` is given; use a ``{task}`` placeholder
for a leave-one-task-out model trained without that task).

    python benchmarks/bench_adapt.py --tasks reach push --episodes 5 --json bench_adapt.json
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from robo_reward.adapt.baselines import GoalDistanceBaseline
from robo_reward.adapt.demo_video import VideoEpisode
from robo_reward.adapt.embed import build_encoder, embed_episode
from robo_reward.adapt.pipeline import AdaptConfig, run_adapt, score_bundle
from robo_reward.adapt.reward_dir import load_reward_dir
from robo_reward.data.video import write_video

logger = logging.getLogger("bench_adapt")


def auroc(pos: list[float], neg: list[float]) -> float:
    """P(score of a positive > score of a negative), ties count half."""
    if not pos or not neg:
        return float("nan")
    p, n = np.asarray(pos)[:, None], np.asarray(neg)[None, :]
    return float(((p > n).mean() + 0.5 * (p == n).mean()))


def voc(progress: np.ndarray) -> float:
    if len(progress) < 3 or np.ptp(progress) == 0:
        return 0.0
    return float(spearmanr(np.arange(len(progress)), progress).statistic)


def record(task: str, views: tuple[str, ...], image_size: int, n_success: int, n_failure: int, seed0: int, max_tries: int):
    """Successful and failed episodes of ``task`` with appearance randomisation (one seed per episode)."""
    from robo_reward.sim.env import make_env
    from robo_reward.sim.policies import FAILURE_MODES, make_policy
    from robo_reward.sim.randomization import RandomizationConfig
    from robo_reward.sim.record import record_episode

    rnd = RandomizationConfig(object_colors=True, table_color=True, lighting=True, camera_jitter=0.02)
    env = make_env(task, views=views, image_size=image_size, randomization=rnd, render_quality="fast")
    succ, fail = [], []
    try:
        for k in range(max_tries):
            if len(succ) >= n_success and len(fail) >= n_failure:
                break
            want_success = len(succ) < n_success and (len(fail) >= n_failure or k % 2 == 0)
            mode = "expert" if want_success else FAILURE_MODES[k % len(FAILURE_MODES)]
            ep = record_episode(env, make_policy(env, mode, seed=seed0 + k), seed=seed0 + k)
            if ep.outcome == "success" and want_success:
                succ.append(ep)
            elif ep.outcome == "failure" and not want_success:
                fail.append(ep)
    finally:
        env.close()
    return succ, fail


def bench_task(task: str, args: argparse.Namespace, encoder) -> dict:
    views = tuple(args.views)
    t0 = time.perf_counter()
    demo, _ = record(task, views, args.image_size, 1, 0, seed0=10_000, max_tries=10)
    succ, fail = record(task, views, args.image_size, args.episodes, args.episodes, seed0=20_000, max_tries=8 * args.episodes)
    if not demo or len(succ) < 2 or len(fail) < 2:
        return {"task": task, "error": f"not enough episodes (demo {len(demo)}, success {len(succ)}, failure {len(fail)})"}
    t_rec = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        demo_dir = Path(tmp) / "demo"
        for v in views:
            write_video(demo_dir / f"{v}.mp4", demo[0].frames[v], demo[0].fps)
        summary = run_adapt(AdaptConfig(demo=str(demo_dir), task=demo[0].instruction or task, out=str(Path(tmp) / "reward"),
                                        seed=args.seed, backbone=encoder_cfg(args)), encoder=encoder)
        bundle = load_reward_dir(Path(tmp) / "reward")
    goal = GoalDistanceBaseline.from_demo(bundle.demo_embeddings)
    base = None
    if args.base_model:
        from robo_reward.reward import load_reward_model

        base = load_reward_model(args.base_model.format(task=task), load_backbone=False)

    scores: dict[str, dict[str, list]] = {m: {"succ": [], "fail": [], "rev": []} for m in ("adapted", "goal_distance", "base")}
    t1 = time.perf_counter()
    for kind, eps in (("succ", succ), ("fail", fail), ("rev", succ)):
        for ep in eps:
            frames = {v: (ep.frames[v][::-1].copy() if kind == "rev" else ep.frames[v]) for v in views}
            ve = VideoEpisode(frames=frames, fps=ep.fps, source=Path(task))
            scores["adapted"][kind].append(np.asarray(score_bundle(bundle, ve, encoder, max_frames=10_000)["progress"]))
            emb = {v: e[0] for v, e in embed_episode(encoder, frames, desc="baseline").items()}
            scores["goal_distance"][kind].append(goal.score(emb).progress.numpy())
            if base is not None:
                out = base.score_embeddings(emb, task=task)
                scores["base"][kind].append(np.asarray(getattr(out, "progress", out)).reshape(-1))
    result = {"task": task, "demo_frames": demo[0].num_frames, "stages": summary["stages"], "adapt_s": summary["timing"]["total_s"],
              "record_s": t_rec, "score_s_per_episode": (time.perf_counter() - t1) / (2 * len(succ) + len(fail)),
              "n_success": len(succ), "n_failure": len(fail)}
    for m, s in scores.items():
        if not s["succ"]:
            continue
        result[m] = {
            "voc": float(np.mean([voc(p) for p in s["succ"]])),
            "voc_reversed": float(np.mean([voc(p) for p in s["rev"]])),
            "auroc": auroc([p[-1] for p in s["succ"]], [p[-1] for p in s["fail"]]),
        }
    return result


def encoder_cfg(args: argparse.Namespace):
    from robo_reward.backbones.base import BackboneConfig

    return BackboneConfig(name=args.backbone, image_size=args.backbone_size)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks", nargs="+", default=["reach", "push", "pick_place", "stack", "drawer"])
    p.add_argument("--views", nargs="+", default=["front", "side"])
    p.add_argument("--episodes", type=int, default=5, help="held-out successes and failures per task")
    p.add_argument("--image-size", type=int, default=128, help="rendered frame side")
    p.add_argument("--backbone", default="efficientnet_lite0")
    p.add_argument("--backbone-size", type=int, default=128)
    p.add_argument("--base-model", default=None, help="base reward model dir; '{task}' is replaced by the held-out task")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default="bench_adapt.json")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    encoder = build_encoder({"name": args.backbone, "image_size": args.backbone_size})
    rows = []
    for task in args.tasks:
        rows.append(bench_task(task, args, encoder))
        print(json.dumps(rows[-1]), file=sys.stderr)
    methods = [m for m in ("adapted", "goal_distance", "base") if any(m in r for r in rows)]
    print(f"{'task':<12}" + "".join(f"{m + ' voc/rev/auroc':>34}" for m in methods))
    for r in rows:
        if "error" in r:
            print(f"{r['task']:<12} {r['error']}")
            continue
        print(f"{r['task']:<12}" + "".join(f"{r[m]['voc']:>14.3f}{r[m]['voc_reversed']:>10.3f}{r[m]['auroc']:>10.3f}" for m in methods))
    ok = [r for r in rows if "error" not in r]
    mean = {m: {k: float(np.nanmean([r[m][k] for r in ok])) for k in ("voc", "voc_reversed", "auroc")} for m in methods if ok}
    for m, v in mean.items():
        print(f"{'mean ' + m:<24} voc {v['voc']:.3f}  reversed {v['voc_reversed']:.3f}  auroc {v['auroc']:.3f}")
    Path(args.json).write_text(json.dumps({"args": vars(args), "tasks": rows, "mean": mean}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
