"""How good is the learned potential Phi on the states an RL learner visits (not on demos)?

Potential-based shaping pays gamma*Phi(s') - Phi(s) at every step, so what matters for a learner is whether Phi
rises when the true progress rises *on exploratory states*: noisy approaches at every noise level and random
motion. This script rolls out such episodes in the sim suite (rendered exactly as ``robo-reward train`` renders
them: fast meshes, the reward's views and resolution), scores every frame with the reward model's Markov potential
(the one PBRS uses) and compares it with the task's true continuous progress (``Task.progress()``).

Figures per configuration (views, number of reference demos):

* ``spearman_pooled``: Spearman of Phi vs true progress over all frames;
* ``spearman_within``: median over episodes of the per-episode Spearman;
* ``step_sign_agreement``: over consecutive steps (consecutive reward queries with ``--reward-every``) whose true
  progress changed by more than ``--min-delta``, the share where Phi moved the same way (what the shaping term gets
  right step by step);
* ``phi_noise``: median over true-progress bins of the standard deviation of Phi inside the bin;
* ``phi_success`` / ``phi_far``: mean Phi on success frames and on frames with true progress < 0.2.

    python benchmarks/bench_phi_states.py --reward-model-dir runs/rl_reward/model --task reach \
        --views front wrist --num-references 1 3 --json benchmarks/results/phi_states.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from robo_reward.data.atomic import atomic_write_json

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def rollouts(task: str, episodes: int, views: list[str], image_size: int, seed: int):
    """Exploratory episodes: per episode a noise level in {0.25, 0.5, 1, 2} on a proportional approach to the
    task's first expert waypoint, or (one in five) uniform random actions. Yields (frames view -> (T,S,S,3),
    true progress (T,), success (T,))."""
    from tqdm import tqdm

    from robo_reward.sim import make_env

    env = make_env(task, obs_mode="state", views=tuple(views), image_size=image_size, render_quality="fast")
    rng = np.random.default_rng(seed)
    try:
        for ep in tqdm(range(episodes), desc="rollouts", unit="ep"):
            env.reset(seed=seed + ep)
            goal = np.asarray(env.task.expert_plan()[0].pos, np.float64)
            random_policy = ep % 5 == 4
            noise = [0.25, 0.5, 1.0, 2.0][ep % 4]
            frames = {v: [] for v in views}
            prog, succ = [], []

            def record() -> None:
                for v, img in env.render_views().items():
                    frames[v].append(img)
                prog.append(env.task.progress())
                succ.append(env.task.success())

            record()
            for _ in range(env.task.max_episode_steps):
                if random_policy:
                    a = rng.uniform(-1, 1, 4)
                else:
                    d = (goal - env.task.ee()) / env.max_step
                    a = np.concatenate([np.clip(d, -1, 1) + noise * rng.normal(size=3), [rng.uniform(-1, 1)]])
                _, _, term, trunc, _ = env.step(np.clip(a, -1, 1).astype(np.float32))
                record()
                if term or trunc:
                    break
            yield {v: np.stack(f) for v, f in frames.items()}, np.asarray(prog), np.asarray(succ)
    finally:
        env.close()


def references(pipe, data_root: Path | None, task: str, views: list[str], k: int):
    """The model's stored reference first, then successful recorded demos of ``task`` under ``data_root``."""
    from robo_reward.data import read_episode
    from robo_reward.reward.data import Reference

    refs = pipe.reference_set(task, k)
    if data_root is None or len(refs) >= k:
        return refs[:k]
    instruction = refs[0].instruction
    for meta in sorted(data_root.rglob("meta.json")):
        if len(refs) >= k:
            break
        info = json.loads(meta.read_text())
        if info.get("task") != task or info.get("outcome") != "success":
            continue
        emb = pipe.encode_views(read_episode(meta.parent, views=views).frames)
        refs.append(Reference.from_embeddings(task, instruction, emb, refs[0].text, str(meta.parent)))
    if len(refs) < k:
        print(f"only {len(refs)} references available for {task} under {data_root}", file=sys.stderr)
    return refs


def markov_phi(pipe, emb: dict[str, np.ndarray], refs, use_goal: bool = True) -> np.ndarray:
    s = pipe.scorer.score_embeddings(emb, refs if len(refs) > 1 else refs[0], use_goal=use_goal)
    return np.clip((s.p_forward + s.p_backward) / 2.0, 0.0, 1.0)


def figures(phis: list[np.ndarray], progs: list[np.ndarray], succs: list[np.ndarray], min_delta: float,
            stride: int = 1) -> dict:
    """``stride`` k: step-sign agreement between reward queries k steps apart (Phi held in between)."""
    from scipy.stats import spearmanr

    phi_all, prog_all, succ_all = np.concatenate(phis), np.concatenate(progs), np.concatenate(succs)
    within = [spearmanr(f, p).statistic for f, p in zip(phis, progs) if np.ptp(p) > 0.05 and np.ptp(f) > 0]
    agree, total = 0, 0
    for f, p in zip(phis, progs):
        dp, df = np.diff(p[::stride]), np.diff(f[::stride])
        m = np.abs(dp) > min_delta
        agree += int(np.sum(np.sign(dp[m]) == np.sign(df[m])))
        total += int(m.sum())
    bins = np.clip((prog_all * 5).astype(int), 0, 4)
    noise = [float(np.std(phi_all[bins == b])) for b in range(5) if np.sum(bins == b) >= 10]
    return {
        "frames": int(phi_all.size),
        "spearman_pooled": float(spearmanr(phi_all, prog_all).statistic),
        "spearman_within": float(np.median(within)) if within else None,
        "step_sign_agreement": agree / total if total else None,
        "steps_compared": total,
        "phi_noise": float(np.median(noise)) if noise else None,
        "phi_success": float(phi_all[succ_all].mean()) if succ_all.any() else None,
        "phi_far": float(phi_all[prog_all < 0.2].mean()) if (prog_all < 0.2).any() else None,
        # exploitability: how often a state far from the goal looks at least as done as a typical success frame
        "far_above_success_median": float(np.mean(phi_all[prog_all < 0.5] >= np.median(phi_all[succ_all])))
        if succ_all.any() and (prog_all < 0.5).any() else None,
    }


def _f(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reward-model-dir", required=True)
    ap.add_argument("--task", default="reach")
    ap.add_argument("--episodes", type=int, default=40)
    ap.add_argument("--views", nargs="+", default=["front", "wrist"])
    ap.add_argument("--view-sets", nargs="*", default=None,
                    help="extra view subsets to compare, comma-separated (e.g. front wrist front,wrist)")
    ap.add_argument("--image-size", type=int, default=96)
    ap.add_argument("--num-references", nargs="+", type=int, default=[1])
    ap.add_argument("--ref-data", type=Path, default=None, help="dataset root with successful demos for extra references")
    ap.add_argument("--reward-every", nargs="+", type=int, default=[1],
                    help="also score Phi held between queries every k steps, as `train reward_every=k` does")
    ap.add_argument("--no-goal", action="store_true", help="also score without the goal frame (forward estimate only)")
    ap.add_argument("--min-delta", type=float, default=0.02)
    ap.add_argument("--seed", type=int, default=5000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    from robo_reward.reward.pipeline import load_reward_model

    pipe = load_reward_model(args.reward_model_dir, device="cpu")
    view_sets = [v.split(",") for v in args.view_sets] if args.view_sets else [list(args.views)]
    all_views = sorted({v for vs in view_sets for v in vs} | set(args.views))
    embs, progs, succs = [], [], []
    for frames, prog, succ in rollouts(args.task, args.episodes, all_views, args.image_size, args.seed):
        embs.append(pipe.encode_views(frames))
        progs.append(prog)
        succs.append(succ)
    refs_all = references(pipe, args.ref_data, args.task, all_views, max(args.num_references))
    results = {}
    for vs in view_sets:
        for k, use_goal in [(k, True) for k in args.num_references] + ([(1, False)] if args.no_goal else []):
            refs = refs_all[:k]
            phis = [markov_phi(pipe, {v: e[v] for v in vs}, refs, use_goal) for e in embs]
            for every in args.reward_every:
                held = [f[(np.arange(len(f)) // every) * every] for f in phis]
                name = (f"views={'+'.join(vs)} refs={len(refs)}" + ("" if use_goal else " no goal")
                        + ("" if every == 1 else f" every {every}"))
                results[name] = figures(held, progs, succs, args.min_delta, every)
                r = results[name]
                print(f"{name:40s} spearman pooled {_f(r['spearman_pooled'])} within {_f(r['spearman_within'])} "
                      f"step-sign {_f(r['step_sign_agreement'])} noise {_f(r['phi_noise'])} "
                      f"Phi success {_f(r['phi_success'])} far {_f(r['phi_far'])} "
                      f"far>=success median {_f(r['far_above_success_median'])}")
    out = {"task": args.task, "episodes": args.episodes, "image_size": args.image_size,
           "reward_model_dir": str(args.reward_model_dir), "results": results}
    if args.json:
        atomic_write_json(args.json, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
