"""The main job, end to end on the embedded default (``robo-reward run``; ``quick=true`` for a toy size).

record demos in PyBullet -> train the process reward model -> evaluate it -> adapt a reward from one demo
video of a task it never saw -> train a policy with PBRS on that task (vs sparse) -> run the reward live on the
simulated arm over ROS 2 (when rclpy is installed) -> write the report (HTML + PNG figures).

Each stage is cached under ``<out>/<stage>/stage.json`` (see :mod:`robo_reward.stages`): a re-run reuses
finished stages whose inputs did not change, unless ``force=true``. This module composes the other packages
and holds no reward, shaping or learning logic of its own.
"""

from __future__ import annotations

import dataclasses
import logging
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from robo_reward.data.atomic import atomic_write_json
from robo_reward.stages import StageResult, run_stage

logger = logging.getLogger(__name__)


@dataclass
class PipelineConfig:
    """``configs/pipeline.yaml``; every field can be overridden on the command line (``key=value``)."""

    out: str = "runs/main"
    """folder for data, models, and the report (report/report.html)"""
    quick: bool = False
    """toy sizes (about 3 minutes): the same stages with fewer episodes and steps"""
    force: bool = False
    """re-run every stage even when its cached result is still valid"""
    seed: int = 0
    train_tasks: list[str] = field(default_factory=lambda: ["push", "pick_place", "stack", "drawer"])
    """tasks the reward model is trained on"""
    adapt_task: str = "reach"
    """held-out task: the reward is adapted from one demo video of it, then a policy is trained on it"""
    views: list[str] = field(default_factory=lambda: ["front", "side", "wrist"])
    image_size: int = 96
    """rendered camera resolution (px)"""
    backbone_size: int = 96
    """EfficientNet-Lite0 input size: the rendered size (upscaling 96 px frames to the native 224 costs ~14x
    the time and adds no detail)"""
    train_episodes: int = 12
    """recorded episodes per training task (about half successes)"""
    test_episodes: int = 8
    """held-out episodes per task for evaluation"""
    reward_steps: int = 600
    """reward-model optimisation steps"""
    rl_steps: int = 8000
    """environment steps per policy-training run (sparse and PBRS)"""
    rl_algo: str = "sac"
    ros: str = "auto"
    """auto (run the live ROS 2 stage when rclpy imports), on (require it), off"""
    ros_seconds: float = 12.0
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.adapt_task in self.train_tasks:
            raise ValueError(
                f"adapt_task {self.adapt_task!r} is also in train_tasks {self.train_tasks}; the adaptation stage "
                "must see a task the reward model never trained on"
            )
        if self.ros not in ("auto", "on", "off"):
            raise ValueError(f"ros must be auto, on or off; got {self.ros!r}")
        if self.rl_algo not in ("sac", "ppo"):
            raise ValueError(f"rl_algo must be sac or ppo; got {self.rl_algo!r}")
        for name in ("train_episodes", "test_episodes", "reward_steps", "rl_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")

    # Sizes actually used: quick=true shrinks them (derived, never written back into the config).
    @property
    def n_train(self) -> int:
        return min(self.train_episodes, 4) if self.quick else self.train_episodes

    @property
    def n_test(self) -> int:
        return min(self.test_episodes, 4) if self.quick else self.test_episodes

    @property
    def n_reward_steps(self) -> int:
        return min(self.reward_steps, 120) if self.quick else self.reward_steps

    @property
    def n_rl_steps(self) -> int:
        return min(self.rl_steps, 300) if self.quick else self.rl_steps

    @property
    def n_tasks(self) -> list[str]:
        return self.train_tasks[:2] if self.quick else list(self.train_tasks)


def _record(task: str, episodes: int, out: Path, seed: int, cfg: PipelineConfig, outcome: str = "mixed",
            randomize: bool = False) -> dict[str, Any]:
    from robo_reward.sim.randomization import RandomizationConfig
    from robo_reward.sim.record import RecordConfig
    from robo_reward.sim.record import run as record_run

    rnd = RandomizationConfig(object_colors=False, table_color=True, lighting=True, camera_jitter=0.02, distractors=2) \
        if randomize else RandomizationConfig()
    return record_run(RecordConfig(task=task, episodes=episodes, outcome=outcome, views=list(cfg.views),
                                   image_size=cfg.image_size, render_quality="fast", randomize=rnd, seed=seed,
                                   out=str(out), workers=2, overwrite=True))


def stage_record(cfg: PipelineConfig, d: Path) -> dict[str, Any]:
    from robo_reward.data import EpisodeDataset, read_episode
    from robo_reward.sim.visualize import contact_sheet

    summary: dict[str, Any] = {}
    for i, task in enumerate(cfg.n_tasks):
        summary[f"train/{task}"] = _record(task, cfg.n_train, d / "train" / task, cfg.seed + 100 * i, cfg)["outcomes"]
        summary[f"test/{task}"] = _record(task, cfg.n_test, d / "test" / task, cfg.seed + 5000 + 100 * i, cfg)["outcomes"]
    # The adaptation demo and its test episodes look different from training (lighting, table colour,
    # camera jitter, distractors) and from each other (different seeds).
    _record(cfg.adapt_task, 1, d / "demo", cfg.seed + 9000, cfg, outcome="success", randomize=True)
    summary["adapt_test"] = _record(cfg.adapt_task, max(cfg.n_test, 6), d / "adapt_test", cfg.seed + 9500, cfg,
                                    randomize=True)["outcomes"]
    sheet_task = "pick_place" if "pick_place" in cfg.n_tasks else cfg.n_tasks[0]
    first = EpisodeDataset(d / "train" / sheet_task).episodes(outcome="success")[0]
    contact_sheet(read_episode(first), d / "contact_sheet.png")
    return {"episodes": summary, "contact_sheet": str(d / "contact_sheet.png"),
            "demo": str(EpisodeDataset(d / "demo").episodes()[0])}


def stage_reward(cfg: PipelineConfig, d: Path, data: Path) -> dict[str, Any]:
    from robo_reward.reward.train import TrainRewardConfig
    from robo_reward.reward.train import run as train_run

    from robo_reward.backbones.base import BackboneConfig

    tcfg = TrainRewardConfig(data_roots=[str(data / "train" / t) for t in cfg.n_tasks], views=list(cfg.views),
                             backbone=BackboneConfig(name="efficientnet_lite0", image_size=cfg.backbone_size),  # type: ignore[arg-type]
                             cache_dir=str(Path(cfg.out) / "cache"), steps=cfg.n_reward_steps, out_dir=str(d),
                             seed=cfg.seed, device=cfg.device)
    res = train_run(tcfg)
    return {"model_dir": str(d / "model"), "train": _scalars(res)}


def stage_eval(cfg: PipelineConfig, d: Path, data: Path, model_dir: str) -> dict[str, Any]:
    from robo_reward.reward.evaluate import EvalRewardConfig
    from robo_reward.reward.evaluate import run as eval_run

    res = eval_run(EvalRewardConfig(model_dir=model_dir, data_roots=[str(data / "test" / t) for t in cfg.n_tasks],
                                    cache_dir=str(Path(cfg.out) / "cache"), out_dir=str(d), device=cfg.device))
    return {"overall": _scalars(res.get("overall", {})),
            "per_task": {t: _scalars(v) for t, v in res.get("per_task", {}).items()},
            "plot": res.get("plot"), "outcome_plot": res.get("outcome_plot")}


def stage_adapt(cfg: PipelineConfig, d: Path, data: Path, base_model: str | None) -> dict[str, Any]:
    """Adapt from the one demo, then score the held-out episodes of that task (and their time reversals)."""
    from robo_reward.adapt.pipeline import AdaptConfig, ScoreConfig, run_adapt, run_score
    from robo_reward.data import EpisodeDataset, read_episode, reversed_episode, write_episode
    from robo_reward.reward.evaluate import auroc, voc

    demo = EpisodeDataset(data / "demo").episodes()[0]
    instruction = read_episode(demo, load_frames=False).instruction
    t0 = time.perf_counter()
    from robo_reward.backbones.base import BackboneConfig

    run_adapt(AdaptConfig(demo=str(demo), task=instruction, out=str(d / "model"), seed=cfg.seed,
                          backbone=BackboneConfig(name="efficientnet_lite0", image_size=cfg.backbone_size)))  # type: ignore[arg-type]
    adapt_s = time.perf_counter() - t0
    scores: dict[str, list[dict[str, Any]]] = {"success": [], "partial": [], "failure": [], "reversed": []}
    score_s: list[float] = []
    for ep_dir in EpisodeDataset(data / "adapt_test").episodes():
        ep = read_episode(ep_dir, load_frames=False)
        kinds = [(ep.outcome, ep_dir)]
        if ep.outcome == "success":
            rev_dir = d / "reversed" / ep_dir.name
            if not rev_dir.exists():
                write_episode(rev_dir, reversed_episode(read_episode(ep_dir)))
            kinds.append(("reversed", rev_dir))
        for kind, path in kinds:
            out_json = d / "scores" / f"{path.name}{'_rev' if kind == 'reversed' else ''}.json"
            t1 = time.perf_counter()
            res = run_score(ScoreConfig(reward=str(d / "model"), episode=str(path), out=str(out_json)))
            score_s.append(time.perf_counter() - t1)
            scores[kind].append({"episode": path.name, "progress": list(map(float, res["progress"]))})
    finals_pos = [s["progress"][-1] for s in scores["success"]]
    finals_neg = [s["progress"][-1] for s in scores["failure"] + scores["partial"]]
    metrics = {
        "voc_success": float(np.mean([voc(np.asarray(s["progress"])) for s in scores["success"]])) if scores["success"] else float("nan"),
        "voc_reversed": float(np.mean([voc(np.asarray(s["progress"])) for s in scores["reversed"]])) if scores["reversed"] else float("nan"),
        "auroc_success_vs_not": auroc(finals_pos, finals_neg),
        "adapt_seconds": adapt_s,
        "score_seconds_median": float(np.median(score_s)) if score_s else float("nan"),
        "counts": {k: len(v) for k, v in scores.items()},
    }
    atomic_write_json(d / "curves.json", scores)
    return {"model_dir": str(d / "model"), "task": cfg.adapt_task, "instruction": instruction, "metrics": metrics,
            "curves": str(d / "curves.json")}


def stage_rl(cfg: PipelineConfig, d: Path, reward_dir: str) -> dict[str, Any]:
    from robo_reward.rl.config import AlgoConfig, AlgoName, RewardSource, TrainConfig
    from robo_reward.rl.train import run as rl_run

    runs: dict[str, Any] = {}
    for name, reward in (("sparse", "sparse"), ("pbrs", "learned")):
        tcfg = TrainConfig(task=cfg.adapt_task, reward=RewardSource(reward),
                           # Short episodes (<= 50-80 steps): gamma 0.95 and lr 1e-3 learned reach where SB3's
                           # defaults (0.99, 3e-4) had not by 15k steps (eval return 22.3 vs 5.6 at 12k, one seed).
                           algo=AlgoConfig(name=AlgoName(cfg.rl_algo), gamma=0.95, learning_rate=1e-3,
                                           learning_starts=min(500, cfg.n_rl_steps // 2)), reward_model_dir=reward_dir if reward == "learned" else None,
                           seed=cfg.seed, total_steps=cfg.n_rl_steps, views=list(cfg.views)[:2], image_size=cfg.image_size,
                           eval_every=max(cfg.n_rl_steps // 5, 50), eval_episodes=5,
                           final_eval_episodes=10 if cfg.quick else 20, output_dir=str(d / name),
                           checkpoint_every=max(cfg.n_rl_steps, 1000), video=False, progress_bar=True, device="cpu",
                           # one intra-op thread: batch-2 encodes on 2 threads thrash when anything else runs
                           # (measured 74 ms vs 2.0 s per call on a loaded 2-core machine)
                           torch_threads=1)
        res = rl_run(tcfg)
        runs[name] = {k: v for k, v in res.items() if isinstance(v, (int, float, str, list)) and k != "config"}
    return runs


def stage_ros(cfg: PipelineConfig, d: Path, model_dir: str) -> dict[str, Any]:
    from robo_reward.real.live import run_live_episodes, summarize

    task = "pick_place" if "pick_place" in cfg.n_tasks else cfg.n_tasks[0]
    eps = run_live_episodes(model_dir, task, autopilots=("expert", "missed_grasp"), seconds=cfg.ros_seconds,
                            views=tuple(cfg.views), image_size=cfg.image_size, log_dir=d / "logs")
    traces = {e.autopilot: {"progress": e.progress, "t": e.stamps, "success": e.success} for e in eps}
    atomic_write_json(d / "traces.json", traces)
    return {"task": task, "summary": summarize(eps), "traces": str(d / "traces.json")}


def _scalars(obj: Any) -> Any:
    """Keep JSON-friendly scalars and small nested dicts (drop arrays and long lists)."""
    if isinstance(obj, dict):
        return {k: _scalars(v) for k, v in obj.items() if not (isinstance(v, list) and len(v) > 50)}
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    return obj


def ros_enabled(mode: str) -> tuple[bool, str]:
    from robo_reward.real.live import ros_available

    if mode == "off":
        return False, "skipped (ros=off)"
    if ros_available():
        return True, "rclpy available"
    if mode == "on":
        raise ValueError("ros=on but rclpy does not import; install the ROS 2 extra: pip install -e '.[ros]'")
    return False, "skipped: rclpy is not installed (pip install -e '.[ros]' to enable, or ros=on to require it)"


def run(cfg: PipelineConfig) -> dict[str, Any]:
    """Run every stage (reusing cached ones) and write ``<out>/report``; returns the stage results."""
    from robo_reward.report.build import build_report

    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    base = {"seed": cfg.seed, "quick": cfg.quick}
    stages: list[StageResult] = []
    t_all = time.perf_counter()
    data_inputs = {**base, "tasks": cfg.n_tasks, "adapt": cfg.adapt_task, "views": cfg.views, "size": cfg.image_size,
                   "n": [cfg.n_train, cfg.n_test]}
    rec = run_stage(out, "data", data_inputs, lambda d: stage_record(cfg, d), cfg.force)
    stages.append(rec)
    data = out / "data"
    rew = run_stage(out, "reward", {**data_inputs, "steps": cfg.n_reward_steps}, lambda d: stage_reward(cfg, d, data),
                    cfg.force or not rec.cached)
    stages.append(rew)
    ev = run_stage(out, "reward_eval", {**data_inputs, "steps": cfg.n_reward_steps},
                   lambda d: stage_eval(cfg, d, data, rew.results["model_dir"]), cfg.force or not rew.cached)
    stages.append(ev)
    ad = run_stage(out, "adapt", data_inputs, lambda d: stage_adapt(cfg, d, data, rew.results["model_dir"]),
                   cfg.force or not rec.cached)
    stages.append(ad)
    rl = run_stage(out, "rl", {**data_inputs, "rl_steps": cfg.n_rl_steps, "algo": cfg.rl_algo},
                   lambda d: stage_rl(cfg, d, ad.results["model_dir"]), cfg.force or not ad.cached)
    stages.append(rl)
    ros_on, ros_note = ros_enabled(cfg.ros)
    ros: Optional[StageResult] = None
    if ros_on:
        ros = run_stage(out, "ros", {**data_inputs, "steps": cfg.n_reward_steps, "seconds": cfg.ros_seconds},
                        lambda d: stage_ros(cfg, d, rew.results["model_dir"]), cfg.force or not rew.cached)
        stages.append(ros)
    else:
        logger.warning("ROS 2 stage %s", ros_note)
    total = time.perf_counter() - t_all
    report = build_report(out / "report", cfg_dict=dataclasses.asdict(cfg), stages=stages, ros_note=ros_note,
                          wall_seconds=total, host=f"{platform.machine()}, {platform.python_version()}")
    summary = {s.name: s.results for s in stages}
    summary["report"] = str(report)
    summary["timings"] = {s.name: {"seconds": s.seconds, "cached": s.cached} for s in stages}
    atomic_write_json(out / "summary.json", summary, default=str)
    lines = [f"report: {report}"] + [
        f"  {s.name:<12} {s.seconds:7.1f} s{' (cached)' if s.cached else ''}" for s in stages
    ]
    return {"summary": "\n".join(lines), **summary}
