"""Drawer: pull a drawer open by its handle (articulated object)."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pybullet as p

from robo_reward.sim.tasks.base import Task, Waypoint, closeness

OPEN_SUCCESS = 0.12  # m of travel
HANDLE_OFFSET = np.array([-0.035, 0.0, 0.095])  # grasp point on the handle post, in the drawer-link frame
SLIDE_JOINT = 0
HANDLE_LINK = 1


class DrawerTask(Task):
    """Open the drawer by pulling its handle at least 12 cm (joint travel 0..18 cm).

    Stages: ``approach`` -> ``grasp`` (grasp point within 3 cm of the handle grasp point) -> ``pull`` (drawer
    open more than 2 cm) -> ``open`` (success).
    Expert reward (range [0, 3]): ``reach + opening / 0.12 (capped at 1) + success`` with
    reach = 1 - tanh(10 * |gripper - handle|).
    """

    name = "drawer"
    instruction = "pull the drawer open by its handle"
    stage_names = ("approach", "grasp", "pull", "open")
    max_episode_steps = 70
    expert_reward_max = 3.0

    def _build(self) -> None:
        path = resources.files("robo_reward.sim") / "assets" / "drawer.urdf"
        with resources.as_file(path) as urdf:
            self.body = p.loadURDF(str(urdf), [0.6, 0.0, 0.0], useFixedBase=True, physicsClientId=self.client)
        for link in (-1, 0, 1):
            p.changeDynamics(self.body, link, lateralFriction=1.5, physicsClientId=self.client)
        self.base_xy = np.array([0.6, 0.0])

    def reset(self, rng: np.random.Generator) -> None:
        self.base_xy = np.array([rng.uniform(0.58, 0.66), rng.uniform(-0.15, 0.15)])
        yaw = 0.0
        p.resetBasePositionAndOrientation(self.body, [*self.base_xy, 0.0], p.getQuaternionFromEuler([0, 0, yaw]),
                                          physicsClientId=self.client)
        p.resetJointState(self.body, SLIDE_JOINT, 0.0, 0.0, physicsClientId=self.client)
        # Velocity motor with a small force acts as sliding friction, so the drawer does not drift.
        p.setJointMotorControl2(self.body, SLIDE_JOINT, p.VELOCITY_CONTROL, targetVelocity=0.0, force=3.0,
                                physicsClientId=self.client)

    @property
    def state_names(self) -> list[str]:
        return ["drawer_opening", "handle_x", "handle_y", "handle_z"]

    def opening(self) -> float:
        return float(p.getJointState(self.body, SLIDE_JOINT, physicsClientId=self.client)[0])

    def handle(self) -> np.ndarray:
        """World position (3,) of the grasp point on the handle."""
        base = np.array([*self.base_xy, 0.0])
        return base + np.array([-0.011 - self.opening(), 0.0, 0.0]) + HANDLE_OFFSET

    def object_state(self) -> np.ndarray:
        return np.concatenate([[self.opening()], self.handle()]).astype(np.float32)

    def success(self) -> bool:
        return self.opening() >= OPEN_SUCCESS

    def stage_index(self) -> int:
        o = self.opening()
        if o >= OPEN_SUCCESS:
            return 3
        if o > 0.02:
            return 2
        if np.linalg.norm(self.ee() - self.handle()) < 0.03:
            return 1
        return 0

    def expert_reward(self) -> float:
        reach = closeness(float(np.linalg.norm(self.ee() - self.handle())))
        return reach + min(self.opening() / OPEN_SUCCESS, 1.0) + float(self.success())

    def expert_plan(self) -> list[Waypoint]:
        h = self.handle()
        pulled = h[0] - 0.15
        return [
            Waypoint((h[0], h[1], h[2] + 0.08), -1.0, tol=0.015, tag="approach"),
            Waypoint((h[0], h[1], h[2]), -1.0, tol=0.008, tag="grasp"),
            Waypoint((h[0], h[1], h[2]), 1.0, tol=0.02, hold=5, tag="grasp"),
            Waypoint((pulled, h[1], h[2]), 1.0, tol=0.01, tag="goal"),
            Waypoint((pulled, h[1], h[2]), -1.0, tol=0.03, hold=3, tag="release"),
            Waypoint((pulled, h[1], h[2] + 0.08), -1.0, tol=0.02, tag="retreat"),
        ]

    def colored_bodies(self) -> list[tuple[int, int]]:
        return [(self.body, -1), (self.body, 0)]
