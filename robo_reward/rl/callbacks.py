"""SB3 callbacks and checkpoint helpers: reward-term logging, checkpoint discovery for resume."""

from __future__ import annotations

import logging
import re
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback, EvalCallback

logger = logging.getLogger(__name__)

CHECKPOINT_PREFIX = "model"


class RewardTermsCallback(BaseCallback):
    """Logs the learned-reward breakdown written into ``info`` by the reward wrappers.

    Keys: ``reward/<term>`` (mean episode sum of each term over episodes finished since the last dump),
    ``reward/final_progress`` (Phi at episode end), ``reward/progress`` (mean per-step Phi(s')),
    ``reward/env_reward`` (mean per-step env reward, e.g. the expert reward, for comparison).
    """

    def _on_step(self) -> bool:
        for info in self.locals.get("infos", []):
            if "progress" in info:
                self.logger.record_mean("reward/progress", info["progress"])
            if "env_reward" in info:
                self.logger.record_mean("reward/env_reward", info["env_reward"])
            for name, value in info.get("episode_reward_terms", {}).items():
                self.logger.record_mean(f"reward/{name}", value)
            if "final_progress" in info:
                self.logger.record_mean("reward/final_progress", info["final_progress"])
        return True


class TimedEvalCallback(EvalCallback):
    """SB3 EvalCallback that also measures its own wall time (``eval_seconds``), so throughput figures can
    exclude evaluation, and the number of finished training episodes at each evaluation (``evaluations_episodes``,
    for "episodes to X% success"). The train env being a reward wrapper around the eval env's type is expected."""

    eval_seconds: float = 0.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.evaluations_episodes: list[int] = []

    def _init_callback(self) -> None:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Training and eval env are not of the same type")
            super()._init_callback()

    def _on_step(self) -> bool:
        t0 = time.perf_counter()
        n_evals = len(self.evaluations_timesteps)
        try:
            return super()._on_step()
        finally:
            took = time.perf_counter() - t0
            if len(self.evaluations_timesteps) > n_evals:
                self.evaluations_episodes.append(int(getattr(self.model, "_episode_num", 0)))
                self._log_evaluation(took)
            self.eval_seconds += took

    def _log_evaluation(self, seconds: float) -> None:
        """One line per evaluation, so a long run with the progress bar off (benchmarks, logs) shows its curve."""
        hits = self.evaluations_successes[-1] if self.evaluations_successes else []
        success = f"success {float(np.mean(hits)):.2f}, " if len(hits) else ""
        logger.info("evaluation at %d steps (%d training episodes): %sreturn %.2f over %d episodes (%.1f s)",
                    self.evaluations_timesteps[-1], self.evaluations_episodes[-1], success,
                    float(self.last_mean_reward), len(self.evaluations_results[-1]), seconds)


@dataclass(frozen=True)
class Checkpoint:
    """Files of one checkpoint written by SB3's CheckpointCallback (name_prefix=CHECKPOINT_PREFIX)."""

    steps: int
    model: Path
    replay_buffer: Path | None
    vecnormalize: Path | None


def latest_checkpoint(directory: str | Path) -> Checkpoint | None:
    """The checkpoint with the most env steps in ``directory`` (None if there is none)."""
    directory = Path(directory)
    if not directory.is_dir():
        return None
    found = []
    for path in directory.glob(f"{CHECKPOINT_PREFIX}_*_steps.zip"):
        m = re.fullmatch(rf"{CHECKPOINT_PREFIX}_(\d+)_steps\.zip", path.name)
        if m:
            found.append((int(m.group(1)), path))
    if not found:
        return None
    steps, model = max(found)
    rb = directory / f"{CHECKPOINT_PREFIX}_replay_buffer_{steps}_steps.pkl"
    vn = directory / f"{CHECKPOINT_PREFIX}_vecnormalize_{steps}_steps.pkl"
    return Checkpoint(steps, model, rb if rb.is_file() else None, vn if vn.is_file() else None)


def load_eval_history(npz_path: str | Path) -> dict[str, list]:
    """EvalCallback's ``evaluations.npz`` as lists (empty lists when absent), to continue it after a resume."""
    path = Path(npz_path)
    if not path.is_file():
        return {"timesteps": [], "results": [], "ep_lengths": [], "successes": []}
    with np.load(path) as data:
        return {k: [row for row in data[k]] if k in data else [] for k in ("timesteps", "results", "ep_lengths",
                                                                           "successes")}
