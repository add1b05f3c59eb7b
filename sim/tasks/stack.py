"""Stack: put one cube on top of another."""

from __future__ import annotations

import numpy as np

from robo_reward.sim.tasks.base import CUBE_HALF, Task, Waypoint, closeness, make_box, sample_apart, sample_xy

LIFT_Z = 0.035


class StackTask(Task):
    """Stack the red cube on the blue cube.

    Success: red centre within 2 cm (xy) of the blue centre, 3-5 cm above it, red not grasped, blue on the table.
    Stages: ``approach`` -> ``grasp`` (grasp point within 3 cm of red) -> ``lift`` (red grasped and above
    3.5 cm) -> ``carry`` (lifted and moved > 3 cm) -> ``stack`` (red within 3 cm of blue (xy) and less than
    9 cm above the table, or success).
    Expert reward (range [0, 5]): ``reach + grasped + lifted + align + success`` with
    reach = 1 - tanh(10 * |gripper - red|), grasped/lifted indicators as in pick_place,
    align = 1 - tanh(10 * |red - (blue + 4 cm up)|) once lifted or already stacked, success = 1.
    """

    name = "stack"
    instruction = "stack the red cube on top of the blue cube"
    stage_names = ("approach", "grasp", "lift", "carry", "stack")
    max_episode_steps = 80
    expert_reward_max = 5.0

    def _build(self) -> None:
        self.top = make_box(self.client, (CUBE_HALF,) * 3, (0.85, 0.15, 0.15, 1.0), mass=0.1, friction=1.5)
        self.base = make_box(self.client, (CUBE_HALF,) * 3, (0.15, 0.3, 0.85, 1.0), mass=0.3, friction=1.5)
        self.start = np.zeros(3)
        self.base_start = np.zeros(3)

    def reset(self, rng: np.random.Generator) -> None:
        top_xy = sample_xy(rng)
        base_xy = sample_apart(rng, [top_xy], 0.12, 0.28)
        self.place_body(self.top, top_xy, CUBE_HALF, yaw=float(rng.uniform(-0.4, 0.4)))
        self.place_body(self.base, base_xy, CUBE_HALF, yaw=float(rng.uniform(-0.4, 0.4)))
        self.start = np.array([top_xy[0], top_xy[1], CUBE_HALF])
        self.base_start = np.array([base_xy[0], base_xy[1], CUBE_HALF])

    @property
    def state_names(self) -> list[str]:
        names = []
        for obj in ("red", "blue"):
            names += [f"{obj}_{k}" for k in ("x", "y", "z", "qx", "qy", "qz", "qw")]
        return names

    def object_state(self) -> np.ndarray:
        return np.concatenate([self.pose(self.top), self.pose(self.base)]).astype(np.float32)

    def success(self) -> bool:
        top, base = self.pos(self.top), self.pos(self.base)
        dz = top[2] - base[2]
        return bool(np.linalg.norm(top[:2] - base[:2]) < 0.02 and 0.03 < dz < 0.05 and base[2] < 0.03
                    and not self.grasped(self.top))

    def stage_index(self) -> int:
        top, base, ee = self.pos(self.top), self.pos(self.base), self.ee()
        if np.linalg.norm(top[:2] - base[:2]) < 0.03 and top[2] < 0.09 and top[2] > 0.03:
            return 4
        grasped = self.grasped(self.top)
        lifted = grasped and top[2] > LIFT_Z
        if lifted and np.linalg.norm(top[:2] - self.start[:2]) > 0.03:
            return 3
        if lifted:
            return 2
        if np.linalg.norm(ee - top) < 0.03:
            return 1
        return 0

    def expert_reward(self) -> float:
        top, base, ee = self.pos(self.top), self.pos(self.base), self.ee()
        grasped = self.grasped(self.top)
        lifted = grasped and top[2] > LIFT_Z
        d_align = float(np.linalg.norm(top - (base + np.array([0, 0, 2 * CUBE_HALF]))))
        align = closeness(d_align) if (lifted or d_align < 0.02) else 0.0
        return closeness(float(np.linalg.norm(ee - top))) + float(grasped) + float(lifted) + align + float(
            self.success())

    def expert_plan(self) -> list[Waypoint]:
        c, b = self.start, self.base_start
        place_z = 2 * CUBE_HALF + 0.012 + 0.004
        return [
            Waypoint((c[0], c[1], 0.12), -1.0, tol=0.02, tag="approach"),
            Waypoint((c[0], c[1], 0.012), -1.0, tol=0.008, tag="grasp"),
            Waypoint((c[0], c[1], 0.012), 1.0, tol=0.02, hold=5, tag="grasp"),
            Waypoint((c[0], c[1], 0.15), 1.0, tol=0.02, tag="carry"),
            Waypoint((b[0], b[1], 0.15), 1.0, tol=0.015, tag="carry_goal"),
            Waypoint((b[0], b[1], place_z), 1.0, tol=0.006, tag="goal"),
            Waypoint((b[0], b[1], place_z), -1.0, tol=0.03, hold=4, tag="release"),
            Waypoint((b[0], b[1], 0.15), -1.0, tol=0.02, tag="retreat"),
        ]

    def colored_bodies(self) -> list[tuple[int, int]]:
        return [(self.top, -1), (self.base, -1)]
