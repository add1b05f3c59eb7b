"""Franka Panda arm in PyBullet: loading, IK-based end-effector control, gripper, joint access.

The hand points straight down with a fixed yaw chosen so that the fingers close along the world y axis.
"""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np
import pybullet as p
import pybullet_data

logger = logging.getLogger(__name__)

ARM_JOINTS = (0, 1, 2, 3, 4, 5, 6)  # pybullet joint indices of panda_joint1..7
FINGER_JOINTS = (9, 10)  # panda_finger_joint1, panda_finger_joint2
EE_LINK = 11  # panda_grasptarget (between the fingertips)
HAND_LINK = 8  # panda_hand
JOINT_NAMES = tuple(f"panda_joint{i}" for i in range(1, 8)) + ("panda_finger_joint1", "panda_finger_joint2")
HOME_Q = np.array([0.0, -0.25, 0.0, -2.3, 0.0, 2.05, 0.785, 0.04, 0.04])  # (9,) rad / m
LOWER = np.array([-2.9671, -1.8326, -2.9671, -3.1416, -2.9671, -0.0873, -2.9671])
UPPER = np.array([2.9671, 1.8326, 2.9671, 0.0, 2.9671, 3.8223, 2.9671])
#: Downward-pointing hand; yaw such that the fingers close along world y.
EE_ORN = tuple(p.getQuaternionFromEuler([np.pi, 0.0, 0.0]))
FINGER_MAX = 0.04  # m per finger (full opening = 8 cm)
ARM_FORCES = np.array([87.0, 87.0, 87.0, 87.0, 12.0, 12.0, 12.0]) * 2.0
FINGER_FORCE = 40.0

RenderQuality = Literal["full", "fast"]

# Link colours used when the detailed visual meshes are dropped ("fast" render quality).
_FAST_COLORS = {-1: (0.9, 0.9, 0.9, 1), 0: (0.9, 0.9, 0.9, 1), 1: (0.9, 0.9, 0.9, 1), 2: (0.9, 0.9, 0.9, 1),
                3: (0.9, 0.9, 0.9, 1), 4: (0.9, 0.9, 0.9, 1), 5: (0.9, 0.9, 0.9, 1), 6: (0.25, 0.25, 0.25, 1),
                8: (0.9, 0.9, 0.9, 1), 9: (0.2, 0.2, 0.2, 1), 10: (0.2, 0.2, 0.2, 1)}


class PandaRobot:
    """A Panda on a fixed base at the origin of one PyBullet client.

    Args:
        client: PyBullet physics client id.
        render_quality: "full" loads the detailed visual meshes; "fast" renders the collision meshes instead
            (about 10x cheaper in TinyRenderer, coarser look, identical physics).
    """

    def __init__(self, client: int, render_quality: RenderQuality = "full") -> None:
        if render_quality not in ("full", "fast"):
            raise ValueError(f"render_quality must be 'full' or 'fast', got {render_quality!r}.")
        self.client = client
        flags = p.URDF_USE_SELF_COLLISION_EXCLUDE_PARENT * 0
        if render_quality == "fast":
            flags |= p.URDF_IGNORE_VISUAL_SHAPES
        self.body = p.loadURDF(
            f"{pybullet_data.getDataPath()}/franka_panda/panda.urdf", [0, 0, 0], useFixedBase=True,
            flags=flags, physicsClientId=client,
        )
        if render_quality == "fast":
            for link, rgba in _FAST_COLORS.items():
                p.changeVisualShape(self.body, link, rgbaColor=rgba, physicsClientId=client)
        for j in FINGER_JOINTS:
            p.changeDynamics(self.body, j, lateralFriction=1.5, spinningFriction=0.01, physicsClientId=client)
        # Couple nothing via constraints: both fingers are driven to the same target, which is deterministic.
        self._ll = list(LOWER) + [0.0, 0.0]
        self._ul = list(UPPER) + [FINGER_MAX, FINGER_MAX]
        self._jr = [u - l for u, l in zip(self._ul, self._ll)]
        self._rest = list(HOME_Q)

    # ------------------------------------------------------------------ state
    def reset(self, q: np.ndarray | None = None) -> None:
        """Teleport to joint configuration ``q`` (9,) (default: home) with zero velocity and hold it."""
        q = HOME_Q if q is None else np.asarray(q, dtype=float)
        for idx, qi in zip(ARM_JOINTS + FINGER_JOINTS, q):
            p.resetJointState(self.body, idx, float(qi), 0.0, physicsClientId=self.client)
        self.set_joint_targets(q)

    def joint_state(self) -> tuple[np.ndarray, np.ndarray]:
        """Return (q, dq), each (9,) float64: 7 arm joints then the 2 finger joints."""
        states = p.getJointStates(self.body, ARM_JOINTS + FINGER_JOINTS, physicsClientId=self.client)
        return np.array([s[0] for s in states]), np.array([s[1] for s in states])

    def ee_pose(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the grasp point position (3,) and orientation quaternion xyzw (4,) in world frame."""
        st = p.getLinkState(self.body, EE_LINK, computeForwardKinematics=True, physicsClientId=self.client)
        return np.array(st[4]), np.array(st[5])

    def hand_pose(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the hand link's world position (3,) and quaternion (4,)."""
        st = p.getLinkState(self.body, HAND_LINK, computeForwardKinematics=True, physicsClientId=self.client)
        return np.array(st[4]), np.array(st[5])

    def gripper_width(self) -> float:
        """Distance between the fingers in metres (0 = closed, 0.08 = fully open)."""
        q, _ = self.joint_state()
        return float(q[7] + q[8])

    # ---------------------------------------------------------------- control
    def ik(self, pos: np.ndarray) -> np.ndarray:
        """Arm joint angles (7,) that put the grasp point at ``pos`` (3,) with the fixed downward orientation."""
        sol = p.calculateInverseKinematics(
            self.body, EE_LINK, [float(v) for v in pos], EE_ORN, lowerLimits=self._ll, upperLimits=self._ul,
            jointRanges=self._jr, restPoses=self._rest, maxNumIterations=60, residualThreshold=1e-5,
            physicsClientId=self.client,
        )
        return np.clip(np.array(sol[:7]), LOWER, UPPER)

    def set_joint_targets(self, q: np.ndarray) -> None:
        """Position-control targets for all 9 joints (q: (9,))."""
        q = np.asarray(q, dtype=float)
        p.setJointMotorControlArray(
            self.body, ARM_JOINTS, p.POSITION_CONTROL, targetPositions=q[:7].tolist(), forces=ARM_FORCES.tolist(),
            positionGains=[0.3] * 7, physicsClientId=self.client,
        )
        p.setJointMotorControlArray(
            self.body, FINGER_JOINTS, p.POSITION_CONTROL, targetPositions=q[7:9].tolist(),
            forces=[FINGER_FORCE, FINGER_FORCE], positionGains=[0.2, 0.2], physicsClientId=self.client,
        )
