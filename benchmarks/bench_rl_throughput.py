"""End-to-end RL training throughput with a vision reward: env steps/s for each choice of views, resolution,
reward frequency, number of envs and worker processes (issue target: >= 100 env steps/s on 2 cores).

Every configuration is a real ``robo_reward.rl.train.run``: PyBullet stepping, rendering the reward's camera
views, the learned reward model (backbone + hop model, PBRS), and SAC updates (1 gradient step per vec step,
batch 256), with evaluation, checkpoints, TensorBoard and video off. The first ``--learning-starts`` steps (random
actions, no updates) are excluded from the figure by timing ``model.learn`` in two runs of different length and
taking the difference, so the reported rate is the steady-state rate of the training loop.

Also prints a component breakdown measured in the same process: physics step, rendering one view, one reward-model
query per env, one SAC gradient step.

    python benchmarks/bench_rl_throughput.py --reward-model-dir runs/main/reward/model --json bench_rl_throughput.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

#: name -> overrides of the TrainConfig fields (all at 96 px, the resolution the reward model was trained at).
CONFIGS: dict[str, dict] = {
    "3 views, every step, 1 env": {"views": ["front", "side", "wrist"]},
    "2 views, every step, 1 env": {"views": ["front", "wrist"]},
    "2 views, every 4th step, 1 env": {"views": ["front", "wrist"], "reward_every": 4},
    "2 views, every step, 4 envs": {"views": ["front", "wrist"], "num_envs": 4},
    "2 views, every 4th step, 4 envs": {"views": ["front", "wrist"], "num_envs": 4, "reward_every": 4},
    "2 views, every 4th step, 4 envs in 4 worker processes": {"views": ["front", "wrist"], "num_envs": 4, "reward_every": 4,
                                                     "subproc": True},
    "2 views, every 4th step, 8 envs in 8 worker processes": {"views": ["front", "wrist"], "num_envs": 8,
                                                              "reward_every": 4, "subproc": True},
    "2 views, every 8th step, 4 envs in 4 worker processes": {"views": ["front", "wrist"], "num_envs": 4,
                                                              "reward_every": 8, "subproc": True},
}
SPARSE = "sparse reward (no rendering, no reward model), 1 env"


def train_once(args: argparse.Namespace, overrides: dict, steps: int, reward: str, tmp: Path) -> float:
    """Seconds inside ``model.learn`` (evaluation excluded) of one training run of ``steps`` env steps.

    Env construction (worker processes, PyBullet, the reward model) is outside ``learn`` and not counted: it is a
    one-off cost, and with worker processes the first run also starts the forkserver, which would bias a
    difference of two wall times.
    """
    from robo_reward.rl import AlgoConfig, TrainConfig
    from robo_reward.rl.train import run

    cfg = TrainConfig(task=args.task, reward=reward, reward_model_dir=args.reward_model_dir if reward == "learned" else None,
                      algo=AlgoConfig(name="sac", learning_starts=args.learning_starts, gamma=0.95),
                      total_steps=steps, eval_every=0, final_eval_episodes=0, checkpoint_every=0, tensorboard=False,
                      progress_bar=False, video=False, torch_threads=args.threads, device="cpu",
                      output_dir=str(tmp / f"run_{time.monotonic_ns()}"), seed=0, **overrides)
    res = run(cfg)
    return float(res["train_seconds"]) - float(res.get("eval_seconds") or 0.0)


def steady_rate(args: argparse.Namespace, overrides: dict, reward: str, tmp: Path) -> dict:
    """Env steps/s of the training loop after learning_starts: (long - short) steps / (long - short) seconds."""
    short = args.learning_starts + 50 * overrides.get("num_envs", 1)
    rates = []
    for _ in range(args.repeats):
        t_short = train_once(args, overrides, short, reward, tmp)
        t_long = train_once(args, overrides, short + args.steps, reward, tmp)
        rates.append(args.steps / max(t_long - t_short, 1e-6))
    return {"env_steps_per_s_median": float(np.median(rates)), "runs": rates}


def components(args: argparse.Namespace) -> dict[str, float]:
    """Milliseconds of the pieces of one training step (medians)."""
    import torch

    from robo_reward.loading import load_progress_model
    from robo_reward.sim import make_env

    torch.set_num_threads(args.threads)
    env = make_env(args.task, obs_mode="state", views=("front", "side", "wrist"), image_size=96, render_quality="fast")
    env.reset(seed=0)
    act = np.zeros(env.action_space.shape, np.float32)

    def med(fn, n: int = 30) -> float:
        ts = []
        for _ in range(n):
            t = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t)
        return float(np.median(ts) * 1e3)

    out = {"physics_step_ms": med(lambda: env.step(act))}
    out["render_3_views_ms"] = med(env.unwrapped.render_views)
    model = load_progress_model(args.reward_model_dir, 1, task=args.task, views=["front", "wrist"], device="cpu")
    frames = {v: f[None] for v, f in env.unwrapped.render_views().items() if v in ("front", "wrist")}
    model.reset([0], frames)
    out["reward_query_2_views_ms"] = med(lambda: model.step(frames))
    env.close()

    import gymnasium as gym
    from stable_baselines3 import SAC

    sac = SAC("MlpPolicy", gym.make("Pendulum-v1"), learning_starts=0, batch_size=256, device="cpu", seed=0)
    sac.learn(300)
    out["sac_gradient_step_ms"] = med(lambda: sac.train(gradient_steps=1, batch_size=256), n=100)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reward-model-dir", required=True, help="trained or adapted reward-model directory")
    ap.add_argument("--task", default="push", help="a task the reward model knows")
    ap.add_argument("--steps", type=int, default=600, help="timed env steps per configuration (after warm-up)")
    ap.add_argument("--learning-starts", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1, help="torch threads in the learner process")
    ap.add_argument("--configs", nargs="*", default=None, help="subset of configuration names (default: all)")
    ap.add_argument("--json", default="benchmarks/results/bench_rl_throughput.json")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if not Path(args.reward_model_dir).exists():
        print(f"error: --reward-model-dir {args.reward_model_dir} does not exist", file=sys.stderr)
        return 2
    names = args.configs or [*CONFIGS, SPARSE]
    unknown = [n for n in names if n not in CONFIGS and n != SPARSE]
    if unknown:
        print(f"error: unknown configurations {unknown}; choose from {[*CONFIGS, SPARSE]}", file=sys.stderr)
        return 2
    results: dict[str, dict] = {"components_ms": components(args), "configs": {}}
    print("components (ms, median):", json.dumps({k: round(v, 2) for k, v in results["components_ms"].items()}))
    with tempfile.TemporaryDirectory() as d:
        for name in names:
            overrides = {} if name == SPARSE else CONFIGS[name]
            r = steady_rate(args, overrides, "sparse" if name == SPARSE else "learned", Path(d))
            results["configs"][name] = {**r, "overrides": overrides}
            print(f"{name:55s} {r['env_steps_per_s_median']:7.1f} env steps/s", flush=True)
    results["setup"] = {k: v for k, v in vars(args).items() if k != "configs"}
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    from robo_reward.data import atomic_write_json

    atomic_write_json(out, results)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
