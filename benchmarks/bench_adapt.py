"""Few-shot adaptation benchmark: leave-one-task-out over the sim suite, with domain randomisation.

For each task: record one successful demo (randomisation seed A), adapt from its videos (written to disk and read
back, as a user would), then score held-out episodes recorded with other randomisation seeds (other colours,
lighting, camera poses): >= N successes, >= N failures, and the N successes time-reversed. Figures per task:

* ``voc``: mean Spearman(progress, frame index) on successes (target >= 0.9)
* ``voc_reversed``: the same on the reversed successes (target <= -0.8)
* ``auroc``: successes vs failures from the final progress (target >= 0.95)

Methods: ``adapted`` (robo_reward.adapt from the demo alone), ``goal_distance`` (VIP-style baseline, demo's last
frame as goal) and, when ``--base-model`` is given (a ``{task}`` placeholder selects a leave-one-task-out model
trained without that task): ``adapted_base`` (``adapt --base``: base fine-tuned on the demo, mixed with the
demo-fitted heads), ``base`` (the base with no adaptation: the demo's first/last frames and the task text as its
reference, no weight changes), ``base_heads`` (heads mixed with the untouched base, an ablation) and ``tuned_base``
(the fine-tuned base of ``adapted_base`` alone, without the heads: with ``--curves`` the JSON then holds both parts
of ``adapted_base``, so other mixes of the two can be compared without adapting again).

    python benchmarks/bench_adapt.py --tasks reach push --episodes 5 --json bench_adapt.json
    python benchmarks/bench_adapt.py --base-model 'runs/adapt_loto_w/base_no_{task}/model' --cache runs/adapt_loto_w/bench \\
        --json runs/adapt_loto_w/bench.json
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from robo_reward.adapt.baselines import GoalDistanceBaseline
from robo_reward.adapt.base import MIXES, map_views
from robo_reward.adapt.demo_video import VideoEpisode
from robo_reward.adapt.embed import build_encoder, embed_episode
from robo_reward.adapt.model import POOLINGS
from robo_reward.adapt.pipeline import AdaptConfig, run_adapt, score_bundle
from robo_reward.adapt.reward_dir import load_reward_dir
from robo_reward.data.atomic import atomic_write_json
from robo_reward.data.video import write_video
from robo_reward.report.figure import pyplot, save_figure
from robo_reward.reward.evaluate import auroc, voc

logger = logging.getLogger("bench_adapt")

DEMO_SEED = 10_000
"""first episode seed tried for the demo"""
TEST_SEED = 20_000
"""first episode seed of the held-out episodes (``--test-seed``)"""


def record(task: str, views: tuple[str, ...], image_size: int, n_success: int, n_failure: int, seed0: int, max_tries: int,
           randomize: bool = True):
    """Successful and failed episodes of ``task`` (one seed per episode), with appearance randomisation unless
    ``randomize`` is False (the task layout of a seed is the same either way)."""
    from robo_reward.sim.env import make_env
    from robo_reward.sim.policies import FAILURE_MODES, make_policy
    from robo_reward.sim.randomization import RandomizationConfig
    from robo_reward.sim.record import record_episode

    rnd = RandomizationConfig(object_colors=True, table_color=True, lighting=True, camera_jitter=0.02) \
        if randomize else RandomizationConfig()
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


def _cached_record(task: str, args: argparse.Namespace) -> tuple[list, list, list]:
    """(demo, successes, failures) as lists of (frames view -> (T, H, W, 3), fps, instruction); cached in --cache."""
    views = tuple(args.views)
    suffix = ("" if args.randomize else "_plain") + ("" if args.test_seed == TEST_SEED else f"_t{args.test_seed}")
    path = Path(args.cache) / f"{task}_{'-'.join(views)}_{args.image_size}_{args.episodes}{suffix}.npz" if args.cache else None
    if path is not None and path.is_file():
        z = np.load(path, allow_pickle=False)
        meta = json.loads(str(z["meta"]))
        out: dict[str, list] = {"demo": [], "succ": [], "fail": []}
        for kind, n in meta["counts"].items():
            out[kind] = [({v: z[f"{kind}{i}_{v}"] for v in views}, meta["fps"], meta["instruction"]) for i in range(n)]
        return out["demo"], out["succ"], out["fail"]
    demo, _ = record(task, views, args.image_size, 1, 0, seed0=DEMO_SEED, max_tries=10, randomize=args.randomize)
    succ, fail = record(task, views, args.image_size, args.episodes, args.episodes, seed0=args.test_seed, max_tries=8 * args.episodes,
                        randomize=args.randomize)
    res = {k: [(e.frames, e.fps, e.instruction) for e in eps] for k, eps in (("demo", demo), ("succ", succ), ("fail", fail))}
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {f"{k}{i}_{v}": f[v] for k, eps in res.items() for i, (f, _, _) in enumerate(eps) for v in views}
        fps = demo[0].fps if demo else 10.0
        meta = {"counts": {k: len(v) for k, v in res.items()}, "fps": fps, "instruction": demo[0].instruction if demo else task}
        np.savez_compressed(path, meta=json.dumps(meta), **arrays)
    return res["demo"], res["succ"], res["fail"]


def _sim_keyframes(task: str, args: argparse.Namespace, out: Path) -> Path:
    """The demo's stage spans as the simulator recorded them, written as an ``adapt --keyframes`` file (the demo is
    rolled out again: same seed, same episode; only its stages are kept)."""
    demo, _ = record(task, tuple(args.views), args.image_size, 1, 0, seed0=DEMO_SEED, max_tries=10, randomize=args.randomize)
    if not demo:
        raise RuntimeError(f"{task}: the scripted demo did not succeed, no keyframes")
    out.write_text(json.dumps([asdict(s) for s in demo[0].stages]))
    return out


def _metrics(s: dict[str, list]) -> dict[str, float]:
    return {
        "voc": float(np.mean([voc(p) for p in s["succ"]])),
        "voc_reversed": float(np.mean([voc(p) for p in s["rev"]])),
        "auroc": auroc([p[-1] for p in s["succ"]], [p[-1] for p in s["fail"]]),
    }


def bench_task(task: str, args: argparse.Namespace, encoder) -> dict:
    views = tuple(args.views)
    t0 = time.perf_counter()
    demo, succ, fail = _cached_record(task, args)
    if not demo or len(succ) < 2 or len(fail) < 2:
        return {"task": task, "error": f"not enough episodes (demo {len(demo)}, success {len(succ)}, failure {len(fail)})"}
    t_rec = time.perf_counter() - t0
    demo_frames, fps, instruction = demo[0]
    base_dir = args.base_model.format(task=task) if args.base_model else None
    bundles, adapt_info = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        demo_dir = Path(tmp) / "demo"
        for v in views:
            write_video(demo_dir / f"{v}.mp4", demo_frames[v], fps)
        keyframes = str(_sim_keyframes(task, args, Path(tmp) / "keyframes.json")) if args.sim_keyframes else None
        variants = [("adapted", None)] + ([("adapted_base", base_dir)] if base_dir else [])
        for name, base in variants:
            out = Path(tmp) / name
            extra = {} if args.augment_copies is None else {"augment_copies": args.augment_copies}
            cfg = AdaptConfig(demo=str(demo_dir), task=instruction or task, out=str(out), base=base, seed=args.seed,
                              backbone=encoder_cfg(args), keyframes=keyframes, **extra)
            tune = {"head_weight": args.head_weight, "steps": args.base_steps, "lr": args.base_lr,
                    "num_references": args.base_references, "mix": args.mix}
            # replace() re-runs BaseTuneConfig's checks on the overrides
            cfg.base_tune = replace(cfg.base_tune, **{k: v for k, v in tune.items() if v is not None})
            if args.pooling is not None:
                cfg.head = replace(cfg.head, pooling=args.pooling)
            summary = run_adapt(cfg, encoder=encoder)
            bundles[name] = load_reward_dir(out)
            adapt_info[name] = {"adapt_s": summary["timing"]["total_s"], "timing": summary["timing"], "stages": summary["stages"],
                                "base": bundles[name].info.get("base")}
    bundle = bundles["adapted"]
    goal = GoalDistanceBaseline.from_demo(bundle.demo_embeddings)
    base = None
    if base_dir:
        from robo_reward.reward.pipeline import load_reward_model

        base = load_reward_model(base_dir, load_backbone=False, load_text_encoder=True)
        # demo views onto the base's, as `adapt --base` maps them (cameras the base never saw go by position)
        to_base = map_views(list(views), list(base.scorer.model.views))
        base_emb = lambda e: {to_base[v]: x for v, x in e.items() if v in to_base}  # noqa: E731
        base_ref = base.add_reference_embeddings(task, instruction or None, base_emb(bundle.demo_embeddings))

    methods = list(bundles) + ["goal_distance"] + (["base", "base_heads", "tuned_base"] if base is not None else [])
    scores: dict[str, dict[str, list]] = {m: {"succ": [], "fail": [], "rev": []} for m in methods}
    t1 = time.perf_counter()
    score_s = {}
    for kind, eps in (("succ", succ), ("fail", fail), ("rev", succ)):
        for k, (fr, ep_fps, _) in enumerate(eps):
            frames = {v: (fr[v][::-1].copy() if kind == "rev" else fr[v]) for v in views}
            if kind == "succ" and k == 0:  # the whole scoring path once per reward, embedding included
                ve = VideoEpisode(frames=frames, fps=ep_fps, source=Path(task))
                for name, b in bundles.items():
                    t2 = time.perf_counter()
                    score_bundle(b, ve, encoder, max_frames=150)
                    score_s[name] = {"seconds": time.perf_counter() - t2, "frames": int(len(frames[views[0]]))}
            emb = {v: e[0] for v, e in embed_episode(encoder, frames, desc="episode").items()}
            for name, b in bundles.items():
                scores[name][kind].append(b.score(emb).progress.numpy())
                if b.base is not None:
                    scores["tuned_base"][kind].append(np.asarray(b.base.score(emb)[0]).reshape(-1))
            scores["goal_distance"][kind].append(goal.score(emb).progress.numpy())
            if base is not None:
                p_base = base.score_embeddings(base_emb(emb), reference=base_ref).progress
                scores["base"][kind].append(np.asarray(p_base).reshape(-1))
                # combination without fine-tuning: the demo-fitted heads mixed with the untouched base
                p_heads = bundle.model.score(emb).progress.numpy()
                scores["base_heads"][kind].append(0.5 * p_heads + 0.5 * np.asarray(p_base).reshape(-1))
    result = {"task": task, "demo_frames": int(len(demo_frames[views[0]])), "adapt": adapt_info,
              "record_s": t_rec, "eval_s": time.perf_counter() - t1, "score_s": score_s,
              "n_success": len(succ), "n_failure": len(fail)}
    for m, s in scores.items():
        if s["succ"]:
            result[m] = _metrics(s)
    if args.curves:
        result["curves"] = {m: {k: [np.round(p, 3).tolist() for p in v] for k, v in s.items()} for m, s in scores.items()}
    return result


def encoder_cfg(args: argparse.Namespace):
    from robo_reward.backbones.base import BackboneConfig

    return BackboneConfig(name=args.backbone, image_size=args.backbone_size)


METHODS = ("adapted", "adapted_base", "base", "base_heads", "tuned_base", "goal_distance")
METRICS = (("voc", "VOC on successes", 0.9, "≥"), ("voc_reversed", "VOC on reversed successes", -0.8, "≤"),
           ("auroc", "success vs failure AUROC", 0.95, "≥"))


def plot(report: dict, path: str | Path) -> Path:
    """Grouped bars: one panel per metric, tasks (and their mean) on the x axis, one bar per method, the issue's
    target as a dashed line."""
    plt = pyplot()

    rows = [r for r in report["tasks"] if "error" not in r]
    methods = [m for m in METHODS if m in report["mean"]]
    groups = [r["task"] for r in rows] + ["mean"]
    fig, axes = plt.subplots(1, len(METRICS), figsize=(5.2 * len(METRICS), 3.8), squeeze=False)
    width = 0.8 / max(len(methods), 1)
    x = np.arange(len(groups))
    for ax, (key, title, target, sense) in zip(axes[0], METRICS):
        for i, m in enumerate(methods):
            vals = [r[m][key] if m in r else np.nan for r in rows] + [report["mean"][m][key]]
            ax.bar(x + (i - (len(methods) - 1) / 2) * width, vals, width, label=m.replace("_", " "))
        ax.axhline(target, color="k", ls="--", lw=1, label=f"target {sense} {target}")
        ax.axhline(0, color="gray", lw=0.5)
        ax.set_xticks(x, groups, rotation=20)
        ax.set_ylim(0.0 if key == "auroc" else -1.05, 1.05)
        ax.set_title(title)
    axes[0][0].legend(fontsize=7, loc="lower left")
    fig.suptitle("Few-shot adaptation, leave-one-task-out with domain randomisation")
    fig.tight_layout()
    return save_figure(fig, path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks", nargs="+", default=["reach", "push", "pick_place", "stack", "drawer"])
    p.add_argument("--views", nargs="+", default=["front", "side", "wrist"],
                   help="camera views of the demo and the test episodes; views the base models do not know are "
                        "mapped onto their other views by position, as `adapt --base` does (e.g. close top wrist: "
                        "cameras the base never saw); the hand camera is what sees the cubes of pick_place and stack "
                        "up close")
    p.add_argument("--episodes", type=int, default=5, help="held-out successes and failures per task")
    p.add_argument("--image-size", type=int, default=128, help="rendered frame side")
    p.add_argument("--backbone", default="efficientnet_lite0")
    p.add_argument("--backbone-size", type=int, default=128)
    p.add_argument("--base-model", default=None, help="base reward model dir; '{task}' is replaced by the held-out task")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--head-weight", type=float, default=None, help="override the heads/base mix of adapted_base")
    p.add_argument("--base-steps", type=int, default=None, help="override adapted_base's fine-tuning steps (0 = none)")
    p.add_argument("--base-lr", type=float, default=None, help="override adapted_base's fine-tuning learning rate")
    p.add_argument("--augment-copies", type=int, default=None, help="override the domain-jittered copies of the demo")
    p.add_argument("--base-references", type=int, default=None,
                   help="override how many references (the demo, then its jittered copies) the fine-tuned base averages over")
    p.add_argument("--mix", default=None, choices=MIXES, help="override how adapted_base combines the heads and the "
                                                             "fine-tuned base")
    p.add_argument("--pooling", default=None, choices=POOLINGS, help="override how the adapted heads fuse views and "
                                                                     "ensemble members")
    p.add_argument("--test-seed", type=int, default=TEST_SEED,
                   help="first seed of the held-out episodes (another value: a fresh test set, cached separately)")
    p.add_argument("--no-randomize", dest="randomize", action="store_false",
                   help="record the demo and the test episodes without appearance randomisation (a diagnostic)")
    p.add_argument("--sim-keyframes", action="store_true",
                   help="adapt with the demo's true stage keyframes from the simulator instead of discovering them")
    p.add_argument("--cache", default=None, help="folder to keep recorded episodes in (re-runs skip the simulator)")
    p.add_argument("--curves", action="store_true", help="also write every progress curve to the JSON")
    p.add_argument("--json", default="bench_adapt.json")
    p.add_argument("--plot", default=None, help="figure of every metric per task and method (default: the JSON path "
                                                 "with .png)")
    p.add_argument("--replot", action="store_true", help="only redraw the figure from an existing --json")
    args = p.parse_args(argv)
    png = args.plot or str(Path(args.json).with_suffix(".png"))
    if args.replot:
        print("wrote", plot(json.loads(Path(args.json).read_text()), png))
        return 0
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    encoder = build_encoder({"name": args.backbone, "image_size": args.backbone_size})
    rows = []
    for task in args.tasks:
        rows.append(bench_task(task, args, encoder))
        print(json.dumps({k: v for k, v in rows[-1].items() if k != "curves"}), file=sys.stderr)
    methods = [m for m in METHODS if any(m in r for r in rows)]
    print(f"{'task':<12}" + "".join(f"{m + ' voc/rev/auroc':>34}" for m in methods))
    for r in rows:
        if "error" in r:
            print(f"{r['task']:<12} {r['error']}")
            continue
        print(f"{r['task']:<12}" + "".join(f"{r[m]['voc']:>14.3f}{r[m]['voc_reversed']:>10.3f}{r[m]['auroc']:>10.3f}"
                                           if m in r else f"{'-':>34}" for m in methods))
    ok = [r for r in rows if "error" not in r]
    mean = {m: {k: float(np.nanmean([r[m][k] for r in ok if m in r])) for k in ("voc", "voc_reversed", "auroc")}
            for m in methods if any(m in r for r in ok)}
    for m, v in mean.items():
        print(f"{'mean ' + m:<24} voc {v['voc']:.3f}  reversed {v['voc_reversed']:.3f}  auroc {v['auroc']:.3f}")
    report = {"args": vars(args), "tasks": rows, "mean": mean}
    atomic_write_json(args.json, report, indent=2)
    print("wrote", args.json, "and", plot(report, png))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
