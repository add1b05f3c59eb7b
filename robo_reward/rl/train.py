"""``robo-reward train``: SB3 SAC/PPO on the sim suite's state observations with a sparse, expert or learned reward.

Wrapper stack of every training sub-env (inside out)::

    env_factory(cfg)                         # robo_reward.sim.make_env(task, obs_mode="state", ...)
    -> TimeLimit                             # only if cfg.max_episode_steps is set
    -> ExpertActions                         # only if cfg.demo_steps > 0 (the scripted expert's actions)
    -> SparseSuccessReward                   # reward=sparse
       | ExpertDenseReward                   # reward=expert (shifted to <= 0, see its docstring)
       | OracleViews? -> ViewsInInfo         # reward=learned (OracleViews for reward_model_dir=oracle)
    -> SuccessInfo -> Monitor                # info["is_success"] for SB3 logging / EvalCallback
    DummyVecEnv -> LearnedRewardVecEnv?      # reward=learned: one batched reward-model call per step
               -> VecNormalize?              # cfg.normalize

Outputs in ``cfg.output_dir``: ``config.json``, ``checkpoints/`` (model, SAC replay buffer, VecNormalize),
``eval/evaluations.npz`` (periodic success rate), ``tb/`` (TensorBoard), ``video.mp4``, ``results.json``.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Any, Callable

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.callbacks import CallbackList, CheckpointCallback
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv, VecEnvWrapper, VecNormalize

from robo_reward.rl.callbacks import (
    CHECKPOINT_PREFIX, RewardTermsCallback, TimedEvalCallback, latest_checkpoint, load_eval_history,
)
from robo_reward.data.atomic import atomic_write_json
from robo_reward.rl.config import RewardSource, TrainConfig
from robo_reward.rl.env_wrappers import (
    ExpertActions, ExpertDenseReward, OracleViews, SparseSuccessReward, SuccessInfo, ViewsInInfo,
)
from robo_reward.rl.evaluate import evaluate
from robo_reward.rl.learner import DemoSAC, build_algo, load_algo
from robo_reward.rl.oracle import OracleProgressModel, task_progress
from robo_reward.rl.reward_wrapper import LearnedRewardVecEnv, LearnedRewardWrapper
from robo_reward.rl.video import record_rollout, write_rollout_video
from robo_reward.types import BatchedProgressModel

logger = logging.getLogger(__name__)

#: cfg -> a fresh (unwrapped by us) gymnasium env with render_views() and info["success"].
EnvFactory = Callable[[TrainConfig], gym.Env]
#: (reward_model_dir spec, num_envs, device, task, *, views, fusion) -> BatchedProgressModel.
RewardModelFactory = Callable[..., BatchedProgressModel]


def default_env_factory(cfg: TrainConfig) -> gym.Env:
    """The sim suite's state-observation env (frames for the reward model come from ``render_views()``)."""
    from robo_reward.sim import make_env

    return make_env(cfg.task, obs_mode="state", views=tuple(cfg.views), image_size=cfg.image_size,
                    render_quality="fast", max_episode_steps=cfg.max_episode_steps)


def default_reward_model_factory(spec: str, num_envs: int, device: str, task: str,
                                 views: list[str] | None = None, fusion: str = "markov") -> BatchedProgressModel:
    """``"oracle"`` -> :class:`OracleProgressModel`; otherwise a trained reward-model directory, streaming for
    ``task`` (its reference/instruction) with the given progress ``fusion``."""
    if spec == "oracle":
        return OracleProgressModel(num_envs, device=device)
    from robo_reward.loading import load_progress_model

    return load_progress_model(spec, num_envs, task=task, views=views, device=device, fusion=fusion)


def resolve_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def _base(cfg: TrainConfig, env_factory: EnvFactory) -> gym.Env:
    env = env_factory(cfg)
    if cfg.max_episode_steps is not None:
        env = gym.wrappers.TimeLimit(env, cfg.max_episode_steps)
    return env


def _with_views(env: gym.Env, cfg: TrainConfig) -> gym.Env:
    if cfg.reward_model_dir == "oracle":
        env = OracleViews(env, task_progress)
    return env


def make_train_env(cfg: TrainConfig, env_factory: EnvFactory, model: BatchedProgressModel | None) -> VecEnv:
    """The vectorized training env with the configured reward (see the module docstring)."""

    def make_one() -> gym.Env:
        env = _base(cfg, env_factory)
        if cfg.demo_steps > 0:
            env = ExpertActions(env, noise=cfg.demo_noise)
        if cfg.reward is RewardSource.sparse:
            env = SparseSuccessReward(env)
        elif cfg.reward is RewardSource.expert:
            env = ExpertDenseReward(env)
        elif cfg.reward is RewardSource.learned:
            env = ViewsInInfo(_with_views(env, cfg), every_step=cfg.reward_every == 1)
        return Monitor(SuccessInfo(env))

    if cfg.subproc:
        # forkserver: a clean worker per env (no copy of the learner's threads or torch state)
        venv: VecEnv = SubprocVecEnv([make_one for _ in range(cfg.num_envs)], start_method="forkserver")
    else:
        venv = DummyVecEnv([make_one for _ in range(cfg.num_envs)])
    if cfg.reward is RewardSource.learned:
        assert model is not None
        venv = LearnedRewardVecEnv(venv, model, cfg.shaping, cfg.algo.gamma, reward_every=cfg.reward_every)
    if cfg.normalize:
        venv = VecNormalize(venv, gamma=cfg.algo.gamma)
    venv.seed(cfg.seed)
    return venv


class _PassThrough(VecEnvWrapper):
    """Stands in for LearnedRewardVecEnv in the evaluation chain: SB3's ``sync_envs_normalization`` walks the
    train and eval wrapper chains in lock step, so both need a wrapper at the same depth under VecNormalize."""

    def reset(self) -> Any:
        return self.venv.reset()

    def step_wait(self) -> Any:
        return self.venv.step_wait()


def _write_json(path: Path, data: dict) -> None:
    atomic_write_json(path, data)


def _save_checkpoint(model: Any, venv: VecEnv, ckpt_dir: Path) -> None:
    n = model.num_timesteps
    model.save(ckpt_dir / f"{CHECKPOINT_PREFIX}_{n}_steps.zip")
    if isinstance(model, OffPolicyAlgorithm):
        model.save_replay_buffer(ckpt_dir / f"{CHECKPOINT_PREFIX}_replay_buffer_{n}_steps.pkl")
    if isinstance(venv, VecNormalize):
        venv.save(str(ckpt_dir / f"{CHECKPOINT_PREFIX}_vecnormalize_{n}_steps.pkl"))


def run(cfg: TrainConfig, *, env_factory: EnvFactory | None = None,
        reward_model_factory: RewardModelFactory | None = None) -> dict[str, Any]:
    """Train (or resume) a policy, evaluate it and write the run directory. Returns the results dict.

    Args:
        cfg: the training configuration.
        env_factory: builds one env; default :func:`default_env_factory` (robo_reward.sim).
        reward_model_factory: builds the BatchedProgressModel for reward=learned; default
            :func:`default_reward_model_factory` (``"oracle"`` or ``robo_reward.reward.pipeline.load_reward_model``).
    """
    env_factory = env_factory or default_env_factory
    reward_model_factory = reward_model_factory or default_reward_model_factory
    out = Path(cfg.output_dir)
    ckpt_dir, eval_dir = out / "checkpoints", out / "eval"
    for d in (out, ckpt_dir, eval_dir):
        d.mkdir(parents=True, exist_ok=True)
    _write_json(out / "config.json", dataclasses.asdict(cfg))
    device = resolve_device(cfg.device)
    if cfg.torch_threads > 0:
        torch.set_num_threads(cfg.torch_threads)

    model_rm = None
    if cfg.reward is RewardSource.learned:
        assert cfg.reward_model_dir is not None
        model_rm = reward_model_factory(cfg.reward_model_dir, cfg.num_envs, device, cfg.task, views=list(cfg.views),
                                        fusion=cfg.reward_fusion)
    venv = make_train_env(cfg, env_factory, model_rm)
    tb = str(out / "tb") if cfg.tensorboard else None

    ckpt = latest_checkpoint(ckpt_dir) if cfg.resume else None
    if cfg.resume and ckpt is None:
        logger.warning("resume=true but no checkpoint in %s; starting from scratch.", ckpt_dir)
    if ckpt is not None:
        if ckpt.vecnormalize is not None and isinstance(venv, VecNormalize):
            venv = VecNormalize.load(str(ckpt.vecnormalize), venv.venv)
        model = load_algo(cfg.algo, str(ckpt.model), venv, device=cfg.device, tensorboard_log=tb)
        if isinstance(model, DemoSAC):
            model.demo_steps = cfg.demo_steps
        if ckpt.replay_buffer is not None and isinstance(model, OffPolicyAlgorithm):
            model.load_replay_buffer(ckpt.replay_buffer)
        logger.info("resumed from %s (%d steps)", ckpt.model, ckpt.steps)
    else:
        model = build_algo(cfg.algo, venv, seed=cfg.seed, device=cfg.device, tensorboard_log=tb,
                           verbose=cfg.verbose, demo_steps=cfg.demo_steps)

    # --- callbacks
    callbacks: list[Any] = [RewardTermsCallback()]
    if cfg.checkpoint_every > 0:
        callbacks.append(CheckpointCallback(max(cfg.checkpoint_every // cfg.num_envs, 1), str(ckpt_dir),
                                            name_prefix=CHECKPOINT_PREFIX, save_replay_buffer=True,
                                            save_vecnormalize=True))
    eval_cb = None
    if cfg.eval_every > 0 and cfg.eval_episodes > 0:
        eval_venv: VecEnv = DummyVecEnv([lambda: Monitor(SuccessInfo(_base(cfg, env_factory)))])
        if isinstance(venv, VecNormalize):
            if cfg.reward is RewardSource.learned:
                eval_venv = _PassThrough(eval_venv)
            eval_venv = VecNormalize(eval_venv, training=False, norm_reward=False)
        eval_venv.seed(cfg.seed + 10_000)
        eval_cb = TimedEvalCallback(eval_venv, n_eval_episodes=cfg.eval_episodes,
                               eval_freq=max(cfg.eval_every // cfg.num_envs, 1), log_path=str(eval_dir),
                               deterministic=True, verbose=0)
        history = load_eval_history(eval_dir / "evaluations.npz") if ckpt is not None else None
        if history and history["timesteps"]:
            eval_cb.evaluations_timesteps = [int(t) for t in history["timesteps"]]
            eval_cb.evaluations_results = [list(r) for r in history["results"]]
            eval_cb.evaluations_length = [list(r) for r in history["ep_lengths"]]
            eval_cb.evaluations_successes = [list(r) for r in history["successes"]]
        callbacks.append(eval_cb)

    # --- learn
    start_steps = model.num_timesteps
    remaining = cfg.total_steps - start_steps
    t0 = time.perf_counter()
    if remaining > 0:
        model.learn(remaining, callback=CallbackList(callbacks), progress_bar=cfg.progress_bar,
                    reset_num_timesteps=ckpt is None, tb_log_name=f"{cfg.algo.name.value}_{cfg.reward.value}")
    train_s = time.perf_counter() - t0
    _save_checkpoint(model, venv, ckpt_dir)

    # --- final evaluation (success rate + semantic-trap measure)
    norm = venv if isinstance(venv, VecNormalize) else None

    def predict(obs: np.ndarray) -> np.ndarray:
        o = norm.normalize_obs(obs) if norm is not None else obs
        return model.predict(o, deterministic=True)[0]

    eval_s = eval_cb.eval_seconds if eval_cb is not None else 0.0
    learn_s = train_s - eval_s
    results: dict[str, Any] = {
        "task": cfg.task, "reward": cfg.reward.value, "shaping": cfg.shaping.kind.value, "algo": cfg.algo.name.value,
        "seed": cfg.seed, "num_timesteps": int(model.num_timesteps), "demo_steps": cfg.demo_steps,
        "resumed_from": ckpt.steps if ckpt else None,
        "train_seconds": train_s, "eval_seconds": eval_s,
        # end-to-end training throughput: env + rendering + reward model + learner updates, evaluation excluded
        "env_steps_per_s": (model.num_timesteps - start_steps) / learn_s if learn_s > 0 and remaining > 0 else None,
        "output_dir": str(out),
    }
    if eval_cb is not None:
        results["eval_timesteps"] = [int(t) for t in eval_cb.evaluations_timesteps]
        results["eval_success_rate"] = [float(np.mean(s)) if len(s) else None for s in eval_cb.evaluations_successes]
        # training episodes finished at each evaluation of this process (not restored on resume)
        results["eval_train_episodes"] = list(eval_cb.evaluations_episodes)
    if cfg.final_eval_episodes > 0:
        env = SuccessInfo(_base(cfg, env_factory))
        has_task = getattr(env.unwrapped, "task", None) is not None
        final = evaluate(predict, env, cfg.final_eval_episodes, seed=cfg.seed + 20_000,
                         progress_fn=task_progress if has_task else None, near_goal=cfg.near_goal)
        env.close()
        results.update({"final_success_rate": final["success_rate"], "final_mean_length": final["mean_length"],
                        "final_hover_fraction": final["hover_fraction"],
                        "final_mean_progress": final["mean_final_progress"]})

    # --- rollout video with the progress curve
    if cfg.video:
        env = _base(cfg, env_factory)
        if cfg.reward is RewardSource.learned:
            assert cfg.reward_model_dir is not None
            video_rm = reward_model_factory(cfg.reward_model_dir, 1, device, cfg.task, views=list(cfg.views),
                                            fusion=cfg.reward_fusion)
            env = LearnedRewardWrapper(_with_views(env, cfg), video_rm, cfg.shaping, cfg.algo.gamma)
        frames, values, label, _ = record_rollout(predict, env, cfg.views[0], cfg.video_max_steps, seed=cfg.seed)
        env.close()
        results["video"] = str(write_rollout_video(out / "video.mp4", frames, values, label))

    venv.close()
    _write_json(out / "results.json", results)
    logger.info("train done: %s", {k: v for k, v in results.items() if not isinstance(v, list)})
    return {**results, "summary": _summary_text(results, cfg)}


def _summary_text(results: dict[str, Any], cfg: TrainConfig) -> str:
    rate = results.get("env_steps_per_s")
    shaping = f" shaping={results['shaping']}" if cfg.reward is RewardSource.learned else ""
    lines = [f"{results['task']}: {results['algo']} with reward={results['reward']}{shaping}, "
             f"{results['num_timesteps']} env steps" + (f" ({rate:.1f} env steps/s)" if rate else "")]
    if "final_success_rate" in results:
        progress = results.get("final_mean_progress")
        lines.append(f"final success {results['final_success_rate']:.2f} over {cfg.final_eval_episodes} episodes "
                     f"(mean length {results['final_mean_length']:.1f} steps"
                     + (f", true progress at the end {progress:.2f})" if progress is not None else ")"))
    lines.append(f"run folder: {results['output_dir']} (results.json, checkpoints/, eval/"
                 + (", video.mp4)" if "video" in results else ")"))
    return "\n".join(lines)
