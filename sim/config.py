"""EnvConfig: the typed config of one simulated env (Hydra group ``configs/env/``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from robo_reward.sim.randomization import RandomizationConfig

logger = logging.getLogger(__name__)


@dataclass
class EnvConfig:
    """Keyword arguments of :func:`robo_reward.sim.env.make_env`, as a validated config."""

    task: str = "pick_place"
    """reach | push | pick_place | stack | drawer."""
    obs_mode: str = "state"
    """state | rgb | rgbd (what the policy observes; the reward model renders its own views)."""
    views: list[str] = field(default_factory=lambda: ["front", "side", "wrist"])
    """Camera views (front, side, wrist, top)."""
    image_size: int = 96
    """Square image side in pixels."""
    render_quality: str = "full"
    """full | fast (collision meshes for the Panda, ~10x cheaper per view)."""
    control_hz: int = 10
    """Control steps per second (physics at 240 Hz)."""
    max_step: float = 0.03
    """Metres per control step at |action| = 1."""
    max_episode_steps: int | None = None
    """Truncation horizon (None = the task's default)."""
    terminate_on_success: bool = True
    """End the episode when the task succeeds."""
    randomize: RandomizationConfig = field(default_factory=RandomizationConfig)
    """Appearance randomisation."""

    def __post_init__(self) -> None:
        from robo_reward.sim.tasks import TASKS

        errors = []
        if self.task not in TASKS:
            errors.append(f"task must be one of {sorted(TASKS)}, got {self.task!r}")
        if self.obs_mode not in ("state", "rgb", "rgbd"):
            errors.append(f"obs_mode must be state, rgb or rgbd, got {self.obs_mode!r}")
        if self.render_quality not in ("full", "fast"):
            errors.append(f"render_quality must be full or fast, got {self.render_quality!r}")
        if isinstance(self.randomize, dict):
            self.randomize = RandomizationConfig(**self.randomize)
        if errors:
            raise ValueError("invalid env config: " + "; ".join(errors) + ".")

    def build(self):  # -> TabletopEnv (import kept local: building the config must not import pybullet)
        """Create the env."""
        from robo_reward.sim.env import make_env

        return make_env(self.task, obs_mode=self.obs_mode, views=tuple(self.views), image_size=self.image_size,
                        render_quality=self.render_quality, control_hz=self.control_hz, max_step=self.max_step,
                        max_episode_steps=self.max_episode_steps, terminate_on_success=self.terminate_on_success,
                        randomization=self.randomize)
