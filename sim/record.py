"""Record scripted rollouts as :class:`robo_reward.data.Episode` and whole datasets (``robo-reward record``).

Outcome labels come from what happened, not from the policy mode:

* ``success``: the task's success predicate holds at the last frame;
* ``partial``: not a success, but the stage detector reached stage index >= 1 (the second stage, e.g.
  ``grasp`` for pick_place) at some frame;
* ``failure``: otherwise (the episode never left the first stage).
"""

from __future__ import annotations

import logging
import multiprocessing as mp
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from robo_reward.data import Episode, EpisodeDataset, StageSpan
from robo_reward.progress import ProgressBar
from robo_reward.sim.cameras import check_views
from robo_reward.sim.env import TabletopEnv, make_env
from robo_reward.sim.policies import FAILURE_MODES, MODES, SELECTABLE_FAILURE_MODES, Policy, make_policy
from robo_reward.sim.randomization import RandomizationConfig
from robo_reward.sim.tasks import TASKS

logger = logging.getLogger(__name__)

OUTCOME_CHOICES = ("success", "partial", "failure", "mixed")
#: Policy modes tried, in turn, for each wanted outcome.
MODE_SCHEDULE: dict[str, tuple[str, ...]] = {
    "success": ("expert", "expert", "noisy_expert"),
    "partial": ("drop", "stop_early", "wrong_target", "missed_grasp", "noisy_expert"),
    "failure": ("random", "missed_grasp", "stop_early"),
}


def outcome_of(success: bool, max_stage_index: int) -> str:
    """The outcome label (see the module docstring)."""
    if success:
        return "success"
    return "partial" if max_stage_index >= 1 else "failure"


def stage_spans(stage_indices: list[int], stage_names: tuple[str, ...]) -> list[StageSpan]:
    """Contiguous runs of equal stage index -> ordered StageSpans (inclusive frame ranges)."""
    spans: list[StageSpan] = []
    start = 0
    for t in range(1, len(stage_indices) + 1):
        if t == len(stage_indices) or stage_indices[t] != stage_indices[start]:
            spans.append(StageSpan(stage_names[stage_indices[start]], start, t - 1))
            start = t
    return spans


def record_episode(env: TabletopEnv, policy: Policy, seed: int, views: tuple[str, ...] | list[str] | None = None,
                   hold_frames: int = 0) -> Episode:
    """Roll out ``policy`` in ``env`` from ``env.reset(seed=seed)`` and return the episode.

    Frames are rendered for every view at every control step, including the initial frame, so
    ``T = steps + 1``; ``actions[t]`` is applied after frame t (last row zeros). ``views=()`` renders nothing
    (fast dry run: same trajectory, no frames). ``hold_frames`` > 0 keeps recording that many control steps
    after a success with the arm holding still (zero motion, last gripper command), as real demos end at rest:
    the reward model then sees the finished state for more than one frame. The outcome is judged at the last
    recorded frame, so a success lost while holding is not labelled a success.
    """
    views = env.views if views is None else check_views(views)
    obs, info = env.reset(seed=seed)
    policy.reset()
    states: list[np.ndarray] = []
    actions: list[np.ndarray] = []
    stages: list[int] = []
    rewards: list[float] = []
    # the task's continuous true progress, where it defines one (reach, push): dense labels for training on
    # non-expert motion (`robo-reward train-reward labels=sim`)
    true_progress = getattr(env.task, "progress", None)
    progress: list[float] = []
    frames: dict[str, list[np.ndarray]] = {v: [] for v in views}

    def observe(info: dict) -> None:
        """Everything recorded per frame: state, stage, expert reward, true progress, camera images."""
        states.append(env.state())
        stages.append(info["stage_index"])
        rewards.append(info["expert_reward"])
        if true_progress:
            progress.append(true_progress())
        if views:
            for v, img in env.render_views(views).items():
                frames[v].append(img)

    observe(info)
    terminated = truncated = False
    while not (terminated or truncated):
        action = np.asarray(policy.act(obs), dtype=np.float32)
        obs, _, terminated, truncated, info = env.step(action)
        actions.append(action)
        observe(info)
    if terminated and info["success"]:
        hold = np.zeros(env.action_space.shape, np.float32)
        hold[-1] = actions[-1][-1] if actions else 0.0
        for _ in range(hold_frames):
            obs, _, _, _, info = env.step(hold)
            actions.append(hold.copy())
            observe(info)
    actions.append(np.zeros(env.action_space.shape, np.float32))
    outcome = outcome_of(bool(info["success"]), max(stages))
    return Episode(
        task=env.task_name, instruction=env.instruction, fps=env.fps, outcome=outcome,
        frames={v: np.stack(f) for v, f in frames.items()},
        states=np.stack(states).astype(np.float32), actions=np.stack(actions).astype(np.float32),
        stages=stage_spans(stages, env.stage_names), state_names=env.state_names,
        extra={
            "seed": int(seed), "failure_mode": getattr(policy, "mode", "unknown"), "success": bool(info["success"]),
            "max_stage_index": int(max(stages)), "stage_indices": [int(s) for s in stages],
            "stage_names": list(env.stage_names), "expert_rewards": [float(r) for r in rewards],
            "terminated": bool(terminated), "truncated": bool(truncated), "image_size": env.image_size,
            "render_quality": env.render_quality, "control_hz": env.control_hz,
            "randomization": asdict(env.randomization),
            **({"true_progress": [round(float(x), 5) for x in progress]} if true_progress else {}),
        },
    )


@dataclass
class RecordConfig:
    """``robo-reward record``: render scripted rollouts into an episode dataset."""

    task: str = "pick_place"
    """Task name, or "all" to cycle through every task."""
    episodes: int = 20
    """Number of episodes to write."""
    outcome: str = "mixed"
    """Wanted outcome: success | partial | failure | mixed (about half successes, the rest failure modes)."""
    views: list[str] = field(default_factory=lambda: ["front", "side", "wrist"])
    """Camera views to record."""
    image_size: int = 96
    """Square image side (pixels)."""
    render_quality: str = "full"
    """full (detailed Panda meshes) or fast (collision meshes, ~10x cheaper)."""
    randomize: RandomizationConfig = field(default_factory=RandomizationConfig)
    """Appearance randomisation."""
    seed: int = 0
    """Base seed; attempt k uses episode seed ``seed * 1_000_000 + k``."""
    out: str = "data/sim"
    """Dataset folder."""
    hold_frames: int = 5
    """Control steps recorded after a success with the arm at rest (0 = stop at the success frame)."""
    workers: int = 2
    """Worker processes (results do not depend on this)."""
    overwrite: bool = False
    """Replace an existing dataset in ``out``."""
    max_attempts_per_episode: int = 8
    """Give up after ``episodes * this + 16`` rollouts if the wanted outcomes are not met."""
    control_hz: int = 10
    """Control rate (frames per second of the recording)."""
    failure_modes: list[str] | None = None
    """failure modes drawn from for outcome=mixed and failure (None = the default set; e.g. [random, wander] for
    negatives that cover the whole workspace, which a reward model used for RL must score low)"""

    def __post_init__(self) -> None:
        errors = []
        if self.task != "all" and self.task not in TASKS:
            errors.append(f"task must be 'all' or one of {sorted(TASKS)}, got {self.task!r}")
        if self.episodes < 1:
            errors.append(f"episodes must be >= 1, got {self.episodes}")
        if self.outcome not in OUTCOME_CHOICES:
            errors.append(f"outcome must be one of {OUTCOME_CHOICES}, got {self.outcome!r}")
        if self.render_quality not in ("full", "fast"):
            errors.append(f"render_quality must be 'full' or 'fast', got {self.render_quality!r}")
        if not 16 <= self.image_size <= 1024:
            errors.append(f"image_size must be in 16..1024 pixels, got {self.image_size}")
        if self.workers < 1:
            errors.append(f"workers must be >= 1, got {self.workers}")
        if self.failure_modes is not None:
            self.failure_modes = list(self.failure_modes)
            if not self.failure_modes or any(m not in SELECTABLE_FAILURE_MODES for m in self.failure_modes):
                errors.append(f"failure_modes must be a non-empty list of {list(SELECTABLE_FAILURE_MODES)}, "
                              f"got {self.failure_modes}")
        if self.max_attempts_per_episode < 1:
            errors.append(f"max_attempts_per_episode must be >= 1, got {self.max_attempts_per_episode}")
        try:
            check_views(self.views)
        except ValueError as exc:
            errors.append(str(exc))
        if not self.views:
            errors.append("views must name at least one camera, e.g. [front, side, wrist]")
        if isinstance(self.randomize, dict):  # plain construction from a dict
            self.randomize = RandomizationConfig(**self.randomize)
        if errors:
            raise ValueError("invalid record config: " + "; ".join(errors) + ". Fix these fields (e.g. "
                             "`robo-reward record task=pick_place outcome=mixed`).")

    @property
    def tasks(self) -> list[str]:
        return sorted(TASKS) if self.task == "all" else [self.task]


@dataclass(frozen=True)
class _Attempt:
    index: int
    task: str
    mode: str
    seed: int


def _attempts(cfg: RecordConfig) -> Iterator[_Attempt]:
    tasks = cfg.tasks
    limit = cfg.episodes * cfg.max_attempts_per_episode + 16
    for k in range(limit):
        task = tasks[k % len(tasks)]
        j = k // len(tasks)
        failures = tuple(cfg.failure_modes) if cfg.failure_modes else FAILURE_MODES
        if cfg.outcome == "mixed":
            mode = ("expert", "noisy_expert")[(j // 2) % 2] if j % 2 == 0 else failures[(j // 2) % len(failures)]
        else:
            sched = failures if cfg.outcome == "failure" and cfg.failure_modes else MODE_SCHEDULE[cfg.outcome]
            mode = sched[j % len(sched)]
        yield _Attempt(k, task, mode, cfg.seed * 1_000_000 + k)


_ENVS: dict[tuple, TabletopEnv] = {}  # per-process env cache (worker processes reuse their envs)


def _env_for(cfg: RecordConfig, task: str) -> TabletopEnv:
    key = (task, tuple(cfg.views), cfg.image_size, cfg.render_quality, cfg.control_hz, repr(cfg.randomize))
    if key not in _ENVS:
        _ENVS[key] = make_env(task, views=tuple(cfg.views), image_size=cfg.image_size,
                              render_quality=cfg.render_quality, control_hz=cfg.control_hz,  # type: ignore[arg-type]
                              randomization=cfg.randomize)
    return _ENVS[key]


def _run_attempt(job: tuple[RecordConfig, _Attempt]) -> tuple[_Attempt, str, Episode | None]:
    """Dry-run without rendering; render (replay the same seed) only if the outcome may be kept."""
    cfg, att = job
    env = _env_for(cfg, att.task)
    dry = record_episode(env, make_policy(env, att.mode, att.seed), att.seed, views=(), hold_frames=cfg.hold_frames)
    if cfg.outcome != "mixed" and dry.outcome != cfg.outcome:
        return att, dry.outcome, None
    ep = record_episode(env, make_policy(env, att.mode, att.seed), att.seed, hold_frames=cfg.hold_frames)
    if ep.outcome != dry.outcome:
        # Rendering does not step the physics, but contact-rich rollouts (a noisy grasp at the edge of
        # slipping) can still diverge between two runs. The rendered episode is what is kept, so its own
        # outcome is the label; drop it only if it no longer fits the requested outcome.
        logger.warning("replay of %s ended %s (dry run: %s); labelling by the recorded rollout", att, ep.outcome, dry.outcome)
        if cfg.outcome != "mixed" and ep.outcome != cfg.outcome:
            return att, ep.outcome, None
    return att, ep.outcome, ep


def _quota(cfg: RecordConfig) -> dict[tuple[str, str], int]:
    """Episodes wanted per (task, outcome key); tasks share the episodes evenly."""
    tasks = cfg.tasks
    quota: dict[tuple[str, str], int] = {}
    for i, task in enumerate(tasks):
        n = cfg.episodes // len(tasks) + (1 if i < cfg.episodes % len(tasks) else 0)
        if cfg.outcome == "mixed":
            quota[(task, "success")] = (n + 1) // 2
            quota[(task, "not_success")] = n - (n + 1) // 2
        else:
            quota[(task, cfg.outcome)] = n
    return quota


def _prepare_out(cfg: RecordConfig) -> Path:
    out = Path(cfg.out)
    if out.exists() and any(out.iterdir()):
        if not cfg.overwrite:
            raise ValueError(f"output folder {out} is not empty; pass overwrite=true to replace it or choose "
                             f"another out=...")
        if not (out / "index.json").exists():
            raise ValueError(f"refusing to overwrite {out}: it has no index.json, so it does not look like an "
                             f"episode dataset. Remove it by hand or choose another out=...")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    return out


def _results(cfg: RecordConfig) -> Iterator[tuple[_Attempt, str, Episode | None]]:
    """Attempt results in attempt order (so the dataset never depends on ``cfg.workers``)."""
    jobs = ((cfg, a) for a in _attempts(cfg))
    if cfg.workers == 1:
        yield from map(_run_attempt, jobs)
        return
    window: deque[Future] = deque()
    with ProcessPoolExecutor(cfg.workers, mp_context=mp.get_context("spawn")) as pool:
        try:
            for job in jobs:
                window.append(pool.submit(_run_attempt, job))
                if len(window) >= 2 * cfg.workers:
                    yield window.popleft().result()
            while window:
                yield window.popleft().result()
        finally:
            for fut in window:
                fut.cancel()


def run(cfg: RecordConfig) -> dict[str, Any]:
    """Record ``cfg.episodes`` episodes with the wanted outcome mix into ``cfg.out``; returns a summary."""
    out = _prepare_out(cfg)
    dataset = EpisodeDataset(out)
    quota = _quota(cfg)
    counts: dict[str, int] = {"success": 0, "partial": 0, "failure": 0}
    modes: dict[str, int] = {}
    attempts = 0
    frames = 0
    t0 = time.perf_counter()
    written = 0
    with ProgressBar(total=cfg.episodes, desc=f"record {cfg.task}", unit="ep", mininterval=0.5) as bar:
        for att, outcome, ep in _results(cfg):
            attempts += 1
            key = outcome if cfg.outcome != "mixed" else ("success" if outcome == "success" else "not_success")
            if ep is None or quota.get((att.task, key), 0) <= 0:
                continue
            quota[(att.task, key)] -= 1
            ep.extra["attempt"] = att.index
            dataset.add(ep, name=f"{att.task}_{written:05d}")
            written += 1
            frames += ep.num_frames
            counts[outcome] += 1
            modes[att.mode] = modes.get(att.mode, 0) + 1
            bar.update(1)
            if written >= cfg.episodes:
                break
    elapsed = time.perf_counter() - t0
    if written < cfg.episodes:
        logger.warning("record: only %d of %d episodes with outcome %r after %d attempts", written, cfg.episodes,
                       cfg.outcome, attempts)
    summary = {
        "out": str(out), "episodes": written, "attempts": attempts, "outcomes": counts, "modes": modes,
        "frames": frames, "seconds": elapsed, "episodes_per_min": 60.0 * written / max(elapsed, 1e-9),
        "frames_per_s": frames / max(elapsed, 1e-9), "complete": written == cfg.episodes,
    }
    logger.info("record: %s", summary)
    per = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
    text = (f"recorded {written} episodes ({per}; {attempts} attempts) in {elapsed:.0f} s, "
            f"{summary['frames_per_s']:.0f} frames/s -> {out}\nnext: robo-reward train-reward data_roots=[{out}]")
    return {**summary, "summary": text}


__all__ = ["MODES", "OUTCOME_CHOICES", "RecordConfig", "outcome_of", "record_episode", "run", "stage_spans"]
