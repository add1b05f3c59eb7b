"""Task interface: what a tabletop task adds to the scene, how it scores a state and how an expert solves it."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pybullet as p

from robo_reward.sim.robot import FINGER_JOINTS, PandaRobot

logger = logging.getLogger(__name__)

TABLE_Z = 0.0  # table top height (m)
CUBE_HALF = 0.02  # cubes are 4 cm


@dataclass(frozen=True)
class Waypoint:
    """One target of a scripted expert.

    pos: (3,) grasp-point position in world frame (m); grip: gripper command in [-1, 1] (1 = closed);
    tol: distance at which the waypoint counts as reached (m); hold: control steps to stay once reached
    (e.g. to let the fingers close); speed: cap on the action
    magnitude while heading here; tag: role used by the failure generators ("grasp", "carry", "goal", ...).
    """

    pos: tuple[float, float, float]
    grip: float
    tol: float = 0.015
    hold: int = 0
    tag: str = ""
    speed: float = 1.0  # max |action| component on the way to this waypoint (1 = max_step per control step)


def make_box(client: int, half: tuple[float, float, float], rgba: tuple[float, ...], mass: float,
             pos: tuple[float, float, float] = (0, 0, -1), friction: float = 1.0) -> int:
    """Create a box body (collision + visual); mass 0 = static."""
    col = p.createCollisionShape(p.GEOM_BOX, halfExtents=half, physicsClientId=client)
    vis = p.createVisualShape(p.GEOM_BOX, halfExtents=half, rgbaColor=rgba, physicsClientId=client)
    body = p.createMultiBody(mass, col, vis, pos, physicsClientId=client)
    p.changeDynamics(body, -1, lateralFriction=friction, spinningFriction=0.001, rollingFriction=0.0001,
                     physicsClientId=client)
    return body


def make_marker(client: int, radius: float, rgba: tuple[float, ...], disc: bool = True) -> int:
    """A visual-only target marker (flat disc or sphere) with no collision."""
    if disc:
        vis = p.createVisualShape(p.GEOM_CYLINDER, radius=radius, length=0.002, rgbaColor=rgba, physicsClientId=client)
    else:
        vis = p.createVisualShape(p.GEOM_SPHERE, radius=radius, rgbaColor=rgba, physicsClientId=client)
    return p.createMultiBody(0, -1, vis, (0, 0, -1), physicsClientId=client)


def sample_xy(rng: np.random.Generator, x: tuple[float, float] = (0.38, 0.62),
              y: tuple[float, float] = (-0.18, 0.18)) -> np.ndarray:
    """Uniform (2,) position on the reachable part of the table."""
    return np.array([rng.uniform(*x), rng.uniform(*y)])


def sample_apart(rng: np.random.Generator, others: list[np.ndarray], min_dist: float, max_dist: float = 1.0,
                 tries: int = 200) -> np.ndarray:
    """Sample an xy at least ``min_dist`` (and at most ``max_dist``) from every point in ``others``."""
    for _ in range(tries):
        xy = sample_xy(rng)
        d = [float(np.linalg.norm(xy - o)) for o in others]
        if all(min_dist <= di <= max_dist for di in d):
            return xy
    raise RuntimeError(f"could not sample a position {min_dist}..{max_dist} m from {others}")


class Task(ABC):
    """A tabletop task. Subclasses define the scene, stages, success, dense expert reward and expert plan.

    Lifecycle: ``build(client, robot)`` once (creates bodies), then ``reset(rng)`` at every episode start
    (after the simulation state was restored), then the query methods at every control step.
    """

    name: ClassVar[str]
    instruction: ClassVar[str]
    stage_names: ClassVar[tuple[str, ...]]
    max_episode_steps: ClassVar[int]
    #: Upper bound of :meth:`expert_reward` (reached on success). RL subtracts it, see ``ExpertDenseReward``.
    expert_reward_max: ClassVar[float]

    def __init__(self) -> None:
        self.client = -1
        self.robot: PandaRobot | None = None

    def build(self, client: int, robot: PandaRobot) -> None:
        """Create the task's bodies in a fresh world (the env rebuilds its world at every reset)."""
        self.client = client
        self.robot = robot
        self._build()

    @abstractmethod
    def _build(self) -> None: ...

    @abstractmethod
    def reset(self, rng: np.random.Generator) -> None:
        """Place objects and targets for a new episode, drawing only from ``rng``."""

    @property
    @abstractmethod
    def state_names(self) -> list[str]:
        """Names of the entries of :meth:`object_state`."""

    @abstractmethod
    def object_state(self) -> np.ndarray:
        """Task part of the observation, (len(state_names),) float32."""

    @abstractmethod
    def stage_index(self) -> int:
        """Index into ``stage_names`` of the stage the current state is in (instantaneous)."""

    @abstractmethod
    def success(self) -> bool:
        """Success predicate on the current state."""

    @abstractmethod
    def expert_reward(self) -> float:
        """Hand-written dense reward of the current state (see the subclass docstring)."""

    @abstractmethod
    def expert_plan(self) -> list[Waypoint]:
        """Waypoints that solve the episode from its reset state."""

    def colored_bodies(self) -> list[tuple[int, int]]:
        """(body, link) pairs whose colour domain randomisation may change."""
        return []

    # ------------------------------------------------------------ helpers
    def _assert_built(self) -> PandaRobot:
        if self.robot is None:
            raise RuntimeError(f"Task {self.name!r} is not built; call build(client, robot) first.")
        return self.robot

    def ee(self) -> np.ndarray:
        """Grasp-point position (3,)."""
        return self._assert_built().ee_pose()[0]

    def pos(self, body: int) -> np.ndarray:
        return np.array(p.getBasePositionAndOrientation(body, physicsClientId=self.client)[0])

    def pose(self, body: int) -> np.ndarray:
        """(7,) position + xyzw quaternion."""
        pos, orn = p.getBasePositionAndOrientation(body, physicsClientId=self.client)
        return np.array(pos + orn)

    def grasped(self, body: int) -> bool:
        """True when both fingers touch ``body``."""
        robot = self._assert_built()
        return all(
            len(p.getContactPoints(robot.body, body, linkIndexA=j, physicsClientId=self.client)) > 0
            for j in FINGER_JOINTS
        )

    def place_body(self, body: int, xy: np.ndarray, z: float, yaw: float = 0.0) -> None:
        orn = p.getQuaternionFromEuler([0, 0, yaw])
        p.resetBasePositionAndOrientation(body, [float(xy[0]), float(xy[1]), z], orn, physicsClientId=self.client)
        p.resetBaseVelocity(body, [0, 0, 0], [0, 0, 0], physicsClientId=self.client)


def closeness(d: float, scale: float = 10.0) -> float:
    """1 at distance 0, falling smoothly towards 0 (1 - tanh(scale * d))."""
    return float(1.0 - np.tanh(scale * d))
