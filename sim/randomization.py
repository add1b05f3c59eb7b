"""Domain randomisation (appearance only): colours, lighting, camera pose jitter and static distractors.

Nothing here changes the task: it draws from its own random stream, and distractors are static bodies placed
outside the robot's workspace so they never touch the robot or the task objects.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pybullet as p

from robo_reward.sim.cameras import CameraSpec, Lighting, jitter

logger = logging.getLogger(__name__)

MAX_DISTRACTORS = 6


@dataclass
class RandomizationConfig:
    """What to randomise at every reset (all off by default)."""

    object_colors: bool = False
    """Random RGB colours for the task objects."""
    table_color: bool = False
    """Random table colour."""
    lighting: bool = False
    """Random light direction and colour."""
    camera_jitter: float = 0.0
    """Std (m) of the Gaussian noise added to fixed cameras' eye position (target gets half of it)."""
    distractors: int = 0
    """Number of static distractor blocks placed off the workspace (0..6)."""

    def __post_init__(self) -> None:
        if not 0 <= self.distractors <= MAX_DISTRACTORS:
            raise ValueError(f"randomize.distractors must be in 0..{MAX_DISTRACTORS}, got {self.distractors}.")
        if self.camera_jitter < 0:
            raise ValueError(f"randomize.camera_jitter must be >= 0 (metres), got {self.camera_jitter}.")

    @property
    def enabled(self) -> bool:
        return bool(self.object_colors or self.table_color or self.lighting or self.camera_jitter > 0
                    or self.distractors > 0)

    @classmethod
    def all_on(cls) -> "RandomizationConfig":
        """Everything on with moderate strengths."""
        return cls(object_colors=True, table_color=True, lighting=True, camera_jitter=0.02, distractors=3)


def create_distractors(client: int, n: int) -> list[int]:
    """Create ``n`` static boxes (placed later by :func:`apply`)."""
    bodies = []
    for _ in range(n):
        col = p.createCollisionShape(p.GEOM_BOX, halfExtents=[0.025, 0.025, 0.025], physicsClientId=client)
        vis = p.createVisualShape(p.GEOM_BOX, halfExtents=[0.025, 0.025, 0.025], rgbaColor=[0.5, 0.5, 0.5, 1],
                                  physicsClientId=client)
        bodies.append(p.createMultiBody(0, col, vis, [0, 0, -1], physicsClientId=client))
    return bodies


def _distractor_xy(rng: np.random.Generator) -> tuple[float, float]:
    # Table corners beyond the reachable workspace: far edge (x > 0.78) or the sides (|y| > 0.34).
    if rng.random() < 0.5:
        return float(rng.uniform(0.8, 0.86)), float(rng.uniform(-0.4, 0.4))
    return float(rng.uniform(0.3, 0.8)), float(rng.choice([-1, 1]) * rng.uniform(0.38, 0.44))


def apply(cfg: RandomizationConfig, rng: np.random.Generator, client: int, table: int,
          colored: list[tuple[int, int]], distractors: list[int], cameras: dict[str, CameraSpec]
          ) -> tuple[Lighting, dict[str, CameraSpec]]:
    """Apply one random draw; returns the lighting and (possibly jittered) cameras for this episode."""
    if cfg.table_color:
        p.changeVisualShape(table, -1, rgbaColor=[*rng.uniform(0.2, 0.9, 3), 1.0], physicsClientId=client)
    if cfg.object_colors:
        for body, link in colored:
            p.changeVisualShape(body, link, rgbaColor=[*rng.uniform(0.05, 0.95, 3), 1.0], physicsClientId=client)
    lighting = Lighting()
    if cfg.lighting:
        direction = rng.normal(0, 1, 3)
        direction[2] = abs(direction[2]) + 0.5
        lighting = Lighting(tuple(direction.tolist()), tuple(rng.uniform(0.6, 1.0, 3).tolist()))
    cams = dict(cameras)
    if cfg.camera_jitter > 0:
        cams = {k: (jitter(v, rng, cfg.camera_jitter, cfg.camera_jitter / 2) if v.mount == "world" else v)
                for k, v in cameras.items()}
    for body in distractors[: cfg.distractors]:
        x, y = _distractor_xy(rng)
        p.resetBasePositionAndOrientation(body, [x, y, 0.025], p.getQuaternionFromEuler([0, 0, rng.uniform(0, 3)]),
                                          physicsClientId=client)
        p.changeVisualShape(body, -1, rgbaColor=[*rng.uniform(0.05, 0.95, 3), 1.0], physicsClientId=client)
    return lighting, cams
