"""Reach: move the gripper to a floating target sphere."""

from __future__ import annotations

import numpy as np

from robo_reward.sim.tasks.base import Task, Waypoint, closeness, make_marker, sample_xy

SUCCESS_DIST = 0.025  # m
NEAR_DIST = 0.08  # m


class ReachTask(Task):
    """Bring the grasp point within 2.5 cm of a red sphere placed at random in the workspace.

    Stages: ``approach`` (farther than 8 cm), ``near`` (within 8 cm), ``reached`` (success).
    Expert reward: ``1 - tanh(10 * d)`` with ``d`` the grasp-point-to-target distance (m), plus 1 on success
    (range [0, 2]).
    """

    name = "reach"
    instruction = "move the gripper to the red ball"
    stage_names = ("approach", "near", "reached")
    max_episode_steps = 50
    expert_reward_max = 2.0

    def _build(self) -> None:
        self.marker = make_marker(self.client, 0.02, (0.9, 0.1, 0.1, 1.0), disc=False)
        self.target = np.zeros(3)
        self.start_dist = 1.0

    def reset(self, rng: np.random.Generator) -> None:
        start = self.ee()
        for _ in range(100):
            xy = sample_xy(rng, x=(0.35, 0.65), y=(-0.2, 0.2))
            target = np.array([xy[0], xy[1], rng.uniform(0.05, 0.30)])
            if np.linalg.norm(target - start) > 0.15:
                break
        self.target = target
        self.start_dist = float(np.linalg.norm(target - start))
        self.place_body(self.marker, target[:2], float(target[2]))

    @property
    def state_names(self) -> list[str]:
        return ["target_x", "target_y", "target_z"]

    def object_state(self) -> np.ndarray:
        return self.target.astype(np.float32)

    def _dist(self) -> float:
        return float(np.linalg.norm(self.ee() - self.target))

    def stage_index(self) -> int:
        d = self._dist()
        return 2 if d < SUCCESS_DIST else 1 if d < NEAR_DIST else 0

    def success(self) -> bool:
        return self._dist() < SUCCESS_DIST

    def progress(self) -> float:
        """True progress: share of the start distance covered (towards the 2.5 cm success radius), 1 on success."""
        if self.success():
            return 1.0
        covered = 1.0 - (self._dist() - SUCCESS_DIST) / max(self.start_dist - SUCCESS_DIST, 1e-6)
        return float(np.clip(covered, 0.0, 0.99))

    def expert_reward(self) -> float:
        return closeness(self._dist()) + float(self.success())

    def expert_plan(self) -> list[Waypoint]:
        t = tuple(float(v) for v in self.target)
        # A measured approach (a third of the top speed) so that a demo spans ~15-25 frames: long enough for
        # the reward model to see progress build up, like the other tasks.
        return [Waypoint(t, -1.0, tol=0.01, speed=0.35, tag="goal")]

    def colored_bodies(self) -> list[tuple[int, int]]:
        return []
