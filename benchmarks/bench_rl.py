"""RL benchmark: tasks x {sparse, expert, naive learned, pbrs learned} x seeds, with SB3 (default SAC).

Reports per (task, reward): final success rate, env steps to reach 80% of the final success rate, env steps to
reach 80% of the sparse reward's mean final success on that task (a level common to every reward, so that a reward
that ends higher is not charged for climbing further), the semantic-trap measure (share of episode time spent near
the goal without having succeeded; naive vs pbrs), and end-to-end env steps/s (env stepping + rendering + reward
model + learner updates; periodic evaluation excluded).
Writes a table (stdout), ``summary.json`` and ``success_vs_steps.png`` into --out.

Runs can be split over machines/processes: ``--part 0/3`` runs every third combination; runs that already have
``results.json`` are skipped (``--force`` reruns them); ``--aggregate-only`` just rebuilds the table;
``--reevaluate N`` evaluates the final policies of finished runs on N episodes (a final success rate over 30-50
episodes has a standard error of up to 0.09); ``--include DIR ...`` adds the runs of other result folders to the
table and plot (runs with the simulator's true progress as the potential are labelled ``pbrs-oracle``).

    python benchmarks/bench_rl.py --tasks reach push pick_place --seeds 0 1 2 --steps 200000
    python benchmarks/bench_rl.py --tasks reach --seeds 0 1 --steps 400 --final-eval-episodes 5   # smoke
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from robo_reward.data.atomic import atomic_write_json
from robo_reward.report.figure import pyplot, save_figure

REWARDS = ("sparse", "expert", "naive", "pbrs")


def make_config(args: argparse.Namespace, task: str, reward: str, seed: int, out: Path):
    from robo_reward.rl import AlgoConfig, TrainConfig
    from robo_reward.shaping import ShapingConfig

    learned = reward in ("naive", "pbrs")
    algo = AlgoConfig(name=args.algo, learning_starts=min(args.learning_starts, max(args.steps // 10, 50)),
                      ent_coef=args.ent_coef, gamma=args.gamma, learning_rate=args.lr)
    return TrainConfig(
        task=task, reward="learned" if learned else reward,
        shaping=ShapingConfig(kind=reward if learned else "pbrs", sparse=args.sparse, sparse_weight=args.sparse_weight),
        algo=algo, reward_model_dir=args.reward_model_dir if learned else None, seed=seed,
        total_steps=args.steps, num_envs=args.num_envs, subproc=args.subproc, image_size=args.image_size,
        views=list(args.views), reward_every=args.reward_every, reward_fusion=args.fusion, normalize=args.normalize,
        eval_every=max(args.steps // args.eval_points, 1), eval_episodes=args.eval_episodes,
        final_eval_episodes=args.final_eval_episodes, near_goal=args.near_goal, checkpoint_every=0,
        output_dir=str(out / f"{task}_{reward}_s{seed}"), tensorboard=args.tensorboard, progress_bar=False,
        video=False, torch_threads=args.torch_threads, demo_steps=args.demo_steps, demo_noise=args.demo_noise,
    )


def steps_to_fraction(timesteps: list[int], success: list[float], final: float, frac: float = 0.8) -> int | None:
    """First evaluation step whose success rate reaches ``frac * final`` (None when final is 0)."""
    if final <= 0 or not timesteps:
        return None
    for t, s in zip(timesteps, success):
        if s is not None and s >= frac * final - 1e-9:
            return int(t)
    return None


def _episodes_at(result: dict, step: int | None) -> int | None:
    """Training episodes finished by the evaluation at env step ``step`` (None if unknown)."""
    if step is None:
        return None
    for t, e in zip(result.get("eval_timesteps", []), result.get("eval_train_episodes", [])):
        if t == step:
            return int(e)
    return None


def reevaluate(run_dir: Path, episodes: int) -> dict:
    """Evaluate the last checkpoint of a finished run on ``episodes`` more episodes (no training) and write
    ``<run_dir>/reeval_<episodes>.json``. Episode seeds start where the run's final evaluation started, so the first
    ``final_eval_episodes`` of them repeat it. Success comes from the env, so a learned reward is not needed."""
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    from robo_reward.cli.main import to_typed
    from robo_reward.rl.callbacks import latest_checkpoint
    from robo_reward.rl.config import TrainConfig
    from robo_reward.rl.env_wrappers import SuccessInfo
    from robo_reward.rl.evaluate import evaluate
    from robo_reward.rl.learner import load_algo
    from robo_reward.rl.oracle import task_progress
    from robo_reward.rl.train import default_env_factory

    cfg: TrainConfig = to_typed(json.loads((run_dir / "config.json").read_text()), TrainConfig)
    ckpt = latest_checkpoint(run_dir / "checkpoints")
    if ckpt is None:
        raise FileNotFoundError(f"{run_dir}/checkpoints holds no model_*_steps.zip; rerun the combination")
    venv = DummyVecEnv([lambda: default_env_factory(cfg)])
    norm = VecNormalize.load(str(ckpt.vecnormalize), venv) if ckpt.vecnormalize is not None else None
    model = load_algo(cfg.algo, str(ckpt.model), norm or venv, device="cpu")

    def predict(obs: np.ndarray) -> np.ndarray:
        return model.predict(norm.normalize_obs(obs) if norm is not None else obs, deterministic=True)[0]

    env = SuccessInfo(default_env_factory(cfg))
    res = evaluate(predict, env, episodes, seed=cfg.seed + 20_000, progress_fn=task_progress, near_goal=cfg.near_goal)
    env.close()
    venv.close()
    out = {"episodes": episodes, "steps": ckpt.steps, "success_rate": res["success_rate"],
           "hover_fraction": res["hover_fraction"], "mean_length": res["mean_length"],
           "mean_final_progress": res["mean_final_progress"]}
    atomic_write_json(run_dir / f"reeval_{episodes}.json", out, indent=2)
    return out


def _reeval(run_dir: Path) -> dict | None:
    """The re-evaluation with the most episodes of a run (None if it has none)."""
    found = sorted(run_dir.glob("reeval_*.json"), key=lambda p: int(p.stem.split("_")[1]))
    return json.loads(found[-1].read_text()) if found else None


def _label(result: dict) -> str:
    """Row label of a run: the reward, or for learned rewards the shaping (``-oracle`` with the true progress)."""
    if result["reward"] != "learned":
        return result["reward"]
    cfg_path = Path(result["run_dir"]) / "config.json"
    oracle = cfg_path.is_file() and json.loads(cfg_path.read_text()).get("reward_model_dir") == "oracle"
    return result["shaping"] + ("-oracle" if oracle else "")


def aggregate(out: Path | list[Path]) -> dict:
    """Group the finished runs of one or more result folders by (task, label) and summarise each group."""
    outs = [out] if isinstance(out, Path) else list(out)
    runs = [{**json.loads(p.read_text()), "run_dir": p.parent} for o in outs for p in sorted(o.glob("*/results.json"))]
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in runs:
        groups[(r["task"], _label(r))].append(r)
    # the common level: 80 % of the sparse reward's mean final success on the task (none without sparse runs)
    level = {}
    for (task, label), rs in groups.items():
        finals = [r["final_success_rate"] for r in rs if r.get("final_success_rate") is not None]
        if label == "sparse" and finals:
            level[task] = 0.8 * float(np.mean(finals))
    summary = {}
    for (task, label), rs in sorted(groups.items()):
        finals = [r.get("final_success_rate", np.nan) for r in rs]
        to80 = [steps_to_fraction(r.get("eval_timesteps", []), r.get("eval_success_rate", []),
                                  r.get("final_success_rate", 0.0)) for r in rs]
        ep80 = [_episodes_at(r, t) for r, t in zip(rs, to80)]
        lv = level.get(task)
        to_lv = [steps_to_fraction(r.get("eval_timesteps", []), r.get("eval_success_rate", []), lv, 1.0)
                 if lv is not None else None for r in rs]
        hover = [r["final_hover_fraction"] for r in rs if r.get("final_hover_fraction") is not None]
        more = [_reeval(r["run_dir"]) for r in rs]
        sps = [r["env_steps_per_s"] for r in rs if r.get("env_steps_per_s")]
        summary[f"{task}/{label}"] = {
            "task": task, "reward": label, "seeds": [r["seed"] for r in rs],
            "final_success_mean": float(np.nanmean(finals)), "final_success_std": float(np.nanstd(finals)),
            "steps_to_80pct": [t for t in to80], "episodes_to_80pct": ep80,
            "sparse_level": lv, "steps_to_sparse_level": to_lv,
            "episodes_to_sparse_level": [_episodes_at(r, t) for r, t in zip(rs, to_lv)],
            "hover_fraction_mean": float(np.mean(hover)) if hover else None,
            "env_steps_per_s_mean": float(np.mean(sps)) if sps else None,
            # --reevaluate: the final policies on more episodes (None per seed without one)
            "reeval_success": [m["success_rate"] if m else None for m in more],
            "reeval_episodes": [m["episodes"] if m else None for m in more],
            "reeval_hover": [m["hover_fraction"] if m else None for m in more],
            "reeval_final_progress": [m.get("mean_final_progress") if m else None for m in more],
            "curves": [{"seed": r["seed"], "t": r.get("eval_timesteps", []), "success": r.get("eval_success_rate", [])}
                       for r in rs],
        }
    return summary


def plot(summary: dict, path: Path) -> None:
    plt = pyplot()

    tasks = sorted({v["task"] for v in summary.values()})
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.5 * len(tasks), 3.4), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        for v in (v for v in summary.values() if v["task"] == task):
            curves = [c for c in v["curves"] if c["t"]]
            if not curves:
                continue
            n = min(len(c["t"]) for c in curves)
            t = np.asarray(curves[0]["t"][:n])
            s = np.array([[np.nan if x is None else x for x in c["success"][:n]] for c in curves])
            m = np.nanmean(s, 0)
            seeds = f"{len(curves)} seeds" if len(curves) > 1 else "1 seed"
            line, = ax.plot(t, m, label=f"{v['reward']} ({seeds})")
            if len(curves) > 1:
                ax.fill_between(t, np.nanmin(s, 0), np.nanmax(s, 0), alpha=0.15, color=line.get_color())
        ax.set(title=f"{task} (line: mean over seeds, band: min to max)", xlabel="env steps",
               ylabel="success rate (periodic evaluations)", ylim=(-0.02, 1.02))
        ax.title.set_fontsize(9)
        ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    save_figure(fig, path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", nargs="+", default=["reach", "push", "pick_place"])
    ap.add_argument("--rewards", nargs="+", default=list(REWARDS), choices=REWARDS)
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    ap.add_argument("--steps", type=int, default=100_000, help="env steps per run")
    ap.add_argument("--algo", default="sac", choices=["sac", "ppo"])
    ap.add_argument("--reward-model-dir", default="oracle", help="trained reward model dir, or 'oracle'")
    ap.add_argument("--ent-coef", default="auto", help="SAC: 'auto' or a number (PPO: a number)")
    ap.add_argument("--sparse-weight", type=float, default=10.0, help="weight of r_gold for the learned rewards")
    ap.add_argument("--sparse", default="env", choices=["env", "model", "none"],
                    help="source of r_gold for the learned rewards: the env's success (the signal the sparse "
                         "baseline gets) or the reward model's success estimate")
    ap.add_argument("--fusion", default="markov", choices=["markov", "guarded"],
                    help="progress estimate of the learned reward (markov: a function of the current frames)")
    ap.add_argument("--normalize", action=argparse.BooleanOptionalAction, default=True,
                    help="VecNormalize observations and rewards (all reward types alike)")
    # Short episodes (<= 50-80 control steps): gamma 0.95 and lr 1e-3 learned reach where SB3's SAC defaults
    # (0.99, 3e-4) had not by 15k steps.
    ap.add_argument("--gamma", type=float, default=0.95, help="discount of the learner (and of PBRS)")
    ap.add_argument("--lr", type=float, default=1e-3, help="learning rate")
    ap.add_argument("--learning-starts", type=int, default=1000, help="random steps before updates (<= steps/10)")
    ap.add_argument("--demo-steps", type=int, default=0,
                    help="first env steps driven by the task's scripted expert (SAC; same demos for every reward)")
    ap.add_argument("--demo-noise", type=float, default=0.1, help="noise std on the expert's xyz actions")
    ap.add_argument("--num-envs", type=int, default=1)
    ap.add_argument("--subproc", action="store_true", help="envs in worker processes (SubprocVecEnv)")
    ap.add_argument("--views", nargs="+", default=["front", "wrist"], help="camera views of the learned reward")
    ap.add_argument("--reward-every", type=int, default=1, help="query the reward model every k vec steps")
    ap.add_argument("--image-size", type=int, default=96)
    ap.add_argument("--eval-points", type=int, default=10, help="periodic evaluations per run")
    ap.add_argument("--eval-episodes", type=int, default=50, help="episodes per periodic evaluation")
    ap.add_argument("--final-eval-episodes", type=int, default=50)
    ap.add_argument("--near-goal", type=float, default=0.8, help="true progress counted as near the goal")
    ap.add_argument("--torch-threads", type=int, default=1)
    ap.add_argument("--tensorboard", action="store_true")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/rl"))
    ap.add_argument("--part", default="0/1", help="i/n: run every n-th combination starting at i")
    ap.add_argument("--force", action="store_true", help="rerun combinations that already have results")
    ap.add_argument("--aggregate-only", action="store_true")
    ap.add_argument("--include", nargs="+", type=Path, default=[], metavar="DIR",
                    help="more result folders whose runs join the table and plot (e.g. the oracle runs)")
    ap.add_argument("--reevaluate", type=int, default=0, metavar="N",
                    help="no training: evaluate the last checkpoint of every finished run in --out (of --tasks, "
                         "--rewards, --seeds) on N episodes, write reeval_N.json beside its results.json, aggregate")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    args.out.mkdir(parents=True, exist_ok=True)

    if args.reevaluate > 0:
        for task, reward, seed in itertools.product(args.tasks, args.rewards, args.seeds):
            run_dir = args.out / f"{task}_{reward}_s{seed}"
            if (run_dir / "results.json").is_file():
                r = reevaluate(run_dir, args.reevaluate)
                logging.info("%s: success %.3f over %d episodes", run_dir.name, r["success_rate"], r["episodes"])
    elif not args.aggregate_only:
        from robo_reward.rl.train import run

        i, n = (int(x) for x in args.part.split("/"))
        combos = list(itertools.product(args.tasks, args.rewards, args.seeds))[i::n]
        for task, reward, seed in combos:
            cfg = make_config(args, task, reward, seed, args.out)
            if (Path(cfg.output_dir) / "results.json").is_file() and not args.force:
                logging.info("skip %s (done)", cfg.output_dir)
                continue
            logging.info("run %s/%s seed %d", task, reward, seed)
            run(cfg)

    summary = aggregate([args.out, *args.include])
    if not summary:
        print("no results in", args.out)
        return 1
    print(f"{'task':<11}{'reward':<12}{'seeds':>6}{'success':>14}{'steps->80%':>22}{'episodes->80%':>16}"
          f"{'steps->sparse 80%':>22}{'hover':>8}{'steps/s':>9}")
    for v in summary.values():
        hv = "-" if v["hover_fraction_mean"] is None else f"{v['hover_fraction_mean']:.3f}"
        sps = "-" if v["env_steps_per_s_mean"] is None else f"{v['env_steps_per_s_mean']:.0f}"
        print(f"{v['task']:<11}{v['reward']:<12}{len(v['seeds']):>6}"
              f"{v['final_success_mean']:>8.2f}±{v['final_success_std']:.2f} {str(v['steps_to_80pct']):>21}"
              f" {str(v['episodes_to_80pct']):>15} {str(v['steps_to_sparse_level']):>21}"
              f"{hv:>8}{sps:>9}")
        if any(x is not None for x in v["reeval_success"]):
            per = " / ".join("-" if x is None else f"{x:.3f}" for x in v["reeval_success"])
            n = max(x for x in v["reeval_episodes"] if x is not None)
            print(f"{'':<19}final policies on {n} episodes, per seed: {per}")
    for task in sorted({v["task"] for v in summary.values()}):
        a, b = summary.get(f"{task}/naive"), summary.get(f"{task}/pbrs")
        if a and b and a["hover_fraction_mean"] is not None and b["hover_fraction_mean"] is not None:
            print(f"semantic trap {task}: hover fraction naive {a['hover_fraction_mean']:.3f} "
                  f"vs pbrs {b['hover_fraction_mean']:.3f}")
    atomic_write_json(args.out / "summary.json", summary, indent=2)
    plot(summary, args.out / "success_vs_steps.png")
    print("wrote", args.out / "summary.json", "and", args.out / "success_vs_steps.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
