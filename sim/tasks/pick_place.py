"""Pick and place: move a cube onto a target disc."""

from __future__ import annotations

import numpy as np

from robo_reward.sim.tasks.base import (
    CUBE_HALF, Task, Waypoint, closeness, make_box, make_marker, sample_apart, sample_xy,
)

PLACE_RADIUS = 0.04  # m: cube centre within this xy distance of the target centre
LIFT_Z = 0.035  # m: cube centre above this height counts as lifted


class PickPlaceTask(Task):
    """Pick up the red cube and put it down on the green disc.

    Success: cube centre within 4 cm (xy) of the target, resting on the table (z < 3 cm), not grasped.
    Stages: ``approach`` -> ``grasp`` (grasp point within 3 cm of the cube) -> ``lift`` (cube grasped and
    above 3.5 cm) -> ``carry`` (grasped, lifted, moved > 3 cm from its start) -> ``place`` (cube within 5 cm
    of the target xy and below 8 cm, or success).
    Expert reward (range [0, 5]): ``reach + grasped + lifted + move + success`` where
    reach = 1 - tanh(10 * |gripper - cube|), grasped = 1 if both fingers touch the cube,
    lifted = 1 if grasped and the cube is above 3.5 cm, move = 1 - tanh(10 * |cube_xy - target_xy|)
    counted only once lifted or already within 5 cm, success = 1.
    """

    name = "pick_place"
    instruction = "pick up the red cube and place it on the green target"
    stage_names = ("approach", "grasp", "lift", "carry", "place")
    max_episode_steps = 80
    expert_reward_max = 5.0

    def _build(self) -> None:
        self.cube = make_box(self.client, (CUBE_HALF,) * 3, (0.85, 0.15, 0.15, 1.0), mass=0.1, friction=1.5)
        self.marker = make_marker(self.client, 0.045, (0.2, 0.75, 0.25, 1.0))
        self.target = np.zeros(2)
        self.start = np.zeros(3)

    def reset(self, rng: np.random.Generator) -> None:
        cube_xy = sample_xy(rng)
        self.target = sample_apart(rng, [cube_xy], 0.15, 0.30)
        self.place_body(self.cube, cube_xy, CUBE_HALF, yaw=float(rng.uniform(-0.4, 0.4)))
        self.place_body(self.marker, self.target, 0.001)
        self.start = np.array([cube_xy[0], cube_xy[1], CUBE_HALF])

    @property
    def state_names(self) -> list[str]:
        return ["cube_x", "cube_y", "cube_z", "cube_qx", "cube_qy", "cube_qz", "cube_qw", "target_x", "target_y"]

    def object_state(self) -> np.ndarray:
        return np.concatenate([self.pose(self.cube), self.target]).astype(np.float32)

    def _terms(self) -> tuple[np.ndarray, np.ndarray, bool, float]:
        cube = self.pos(self.cube)
        return cube, self.ee(), self.grasped(self.cube), float(np.linalg.norm(cube[:2] - self.target))

    def success(self) -> bool:
        cube, _, grasped, d = self._terms()
        return d < PLACE_RADIUS and cube[2] < 0.03 and not grasped

    def stage_index(self) -> int:
        cube, ee, grasped, d = self._terms()
        if d < 0.05 and cube[2] < 0.08:
            return 4
        lifted = grasped and cube[2] > LIFT_Z
        if lifted and np.linalg.norm(cube[:2] - self.start[:2]) > 0.03:
            return 3
        if lifted:
            return 2
        if np.linalg.norm(ee - cube) < 0.03:
            return 1
        return 0

    def expert_reward(self) -> float:
        cube, ee, grasped, d = self._terms()
        lifted = grasped and cube[2] > LIFT_Z
        move = closeness(d) if (lifted or d < 0.05) else 0.0
        return closeness(float(np.linalg.norm(ee - cube))) + float(grasped) + float(lifted) + move + float(
            self.success())

    def expert_plan(self) -> list[Waypoint]:
        c, t = self.start, self.target
        return [
            Waypoint((c[0], c[1], 0.12), -1.0, tol=0.02, tag="approach"),
            Waypoint((c[0], c[1], 0.012), -1.0, tol=0.008, tag="grasp"),
            Waypoint((c[0], c[1], 0.012), 1.0, tol=0.02, hold=5, tag="grasp"),
            Waypoint((c[0], c[1], 0.15), 1.0, tol=0.02, tag="carry"),
            Waypoint((t[0], t[1], 0.15), 1.0, tol=0.02, tag="carry_goal"),
            Waypoint((t[0], t[1], 0.03), 1.0, tol=0.01, tag="goal"),
            Waypoint((t[0], t[1], 0.03), -1.0, tol=0.03, hold=4, tag="release"),
            Waypoint((t[0], t[1], 0.15), -1.0, tol=0.02, tag="retreat"),
        ]

    def colored_bodies(self) -> list[tuple[int, int]]:
        return [(self.cube, -1)]
