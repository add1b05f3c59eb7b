"""Push: slide a cube into a target region without grasping it."""

from __future__ import annotations

import numpy as np

from robo_reward.sim.tasks.base import CUBE_HALF, Task, Waypoint, closeness, make_box, make_marker, sample_apart, \
    sample_xy

TARGET_RADIUS = 0.045  # m


class PushTask(Task):
    """Push the blue cube into the yellow region (cube centre within 4.5 cm of the region centre, xy).

    Stages: ``approach`` -> ``contact`` (closed gripper low, within 5.5 cm of the cube, xy) -> ``push`` (cube
    at least 1.5 cm closer to the target than at the start) -> ``at_target`` (success).
    Expert reward (range [0, 3]): ``reach + move + success`` where
    reach = 1 - tanh(10 * |gripper - pre-push point|) (the point 6 cm behind the cube on the push line),
    move = 1 - tanh(10 * |cube_xy - target_xy|), success = 1.
    """

    name = "push"
    instruction = "push the blue cube into the yellow area"
    stage_names = ("approach", "contact", "push", "at_target")
    max_episode_steps = 70
    expert_reward_max = 3.0

    def _build(self) -> None:
        self.cube = make_box(self.client, (CUBE_HALF,) * 3, (0.15, 0.3, 0.85, 1.0), mass=0.2, friction=0.8)
        self.marker = make_marker(self.client, TARGET_RADIUS + 0.01, (0.9, 0.8, 0.15, 1.0))
        self.target = np.zeros(2)
        self.start = np.zeros(2)

    def reset(self, rng: np.random.Generator) -> None:
        for _ in range(100):
            cube_xy = sample_xy(rng, x=(0.40, 0.60), y=(-0.15, 0.15))
            target = sample_apart(rng, [cube_xy], 0.12, 0.20)
            direction = (target - cube_xy) / np.linalg.norm(target - cube_xy)
            pre = cube_xy - 0.07 * direction
            if 0.3 < pre[0] < 0.7 and abs(pre[1]) < 0.25:
                break
        self.start, self.target = cube_xy, target
        self.place_body(self.cube, cube_xy, CUBE_HALF, yaw=float(rng.uniform(-0.4, 0.4)))
        self.place_body(self.marker, target, 0.001)

    @property
    def state_names(self) -> list[str]:
        return ["cube_x", "cube_y", "cube_z", "cube_qx", "cube_qy", "cube_qz", "cube_qw", "target_x", "target_y"]

    def object_state(self) -> np.ndarray:
        return np.concatenate([self.pose(self.cube), self.target]).astype(np.float32)

    def _dist(self) -> float:
        return float(np.linalg.norm(self.pos(self.cube)[:2] - self.target))

    def _direction(self) -> np.ndarray:
        d = self.target - self.start
        return d / np.linalg.norm(d)

    def success(self) -> bool:
        return self._dist() < TARGET_RADIUS

    def progress(self) -> float:
        """True progress in [0, 1]: 0.25 x closeness to the pre-push point until the cube has moved, then
        0.25 + 0.75 x the share of the start distance the cube has covered (towards the target radius); 1 on
        success."""
        if self.success():
            return 1.0
        d0 = float(np.linalg.norm(self.start - self.target))
        covered = float(np.clip(1.0 - (self._dist() - TARGET_RADIUS) / max(d0 - TARGET_RADIUS, 1e-6), 0.0, 1.0))
        if self.stage_index() < 2:
            cube = self.pos(self.cube)
            pre = np.array([*(cube[:2] - 0.06 * self._direction()), 0.02])
            return 0.25 * closeness(float(np.linalg.norm(self.ee() - pre)))
        return float(min(0.25 + 0.75 * covered, 0.99))

    def stage_index(self) -> int:
        d = self._dist()
        if d < TARGET_RADIUS:
            return 3
        if d < float(np.linalg.norm(self.start - self.target)) - 0.015:
            return 2
        ee, cube = self.ee(), self.pos(self.cube)
        if np.linalg.norm(ee[:2] - cube[:2]) < 0.055 and ee[2] < 0.05:
            return 1
        return 0

    def expert_reward(self) -> float:
        cube = self.pos(self.cube)
        pre = np.array([*(cube[:2] - 0.06 * self._direction()), 0.02])
        return closeness(float(np.linalg.norm(self.ee() - pre))) + closeness(self._dist()) + float(self.success())

    def expert_plan(self) -> list[Waypoint]:
        u = self._direction()
        pre = self.start - 0.07 * u
        end = self.target - 0.035 * u  # gripper stops so that the cube centre lands on the target
        z = 0.02
        return [
            Waypoint((pre[0], pre[1], 0.10), 1.0, tol=0.02, tag="approach"),
            Waypoint((pre[0], pre[1], z), 1.0, tol=0.01, tag="contact"),
            Waypoint((end[0], end[1], z), 1.0, tol=0.008, tag="goal", speed=0.4),
            Waypoint((end[0], end[1], 0.10), 1.0, tol=0.02, tag="retreat"),
        ]

    def colored_bodies(self) -> list[tuple[int, int]]:
        return [(self.cube, -1)]
