"""Franka Panda forward kinematics (modified DH, Craig convention) in numpy.

Parameters are the ones published in Franka's robot documentation. ``panda_fk`` returns the pose of the
flange plus the hand offset (TCP between the fingertips), which is what the workspace box in
:mod:`robo_reward.real.safety` constrains.
"""

from __future__ import annotations

import numpy as np

#: (a, d, alpha) per joint, metres / radians (modified DH).
PANDA_DH = np.array(
    [
        [0.0, 0.333, 0.0],
        [0.0, 0.0, -np.pi / 2],
        [0.0, 0.316, np.pi / 2],
        [0.0825, 0.0, np.pi / 2],
        [-0.0825, 0.384, -np.pi / 2],
        [0.0, 0.0, np.pi / 2],
        [0.088, 0.0, np.pi / 2],
    ]
)
PANDA_FLANGE_D = 0.107  # joint 7 -> flange along z
PANDA_TCP_D = 0.1034  # flange -> point between the fingertips along z


def _mdh(a: np.ndarray, d: np.ndarray, alpha: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Batched modified-DH transforms. All inputs (N,), returns (N, 4, 4)."""
    ca, sa, ct, st = np.cos(alpha), np.sin(alpha), np.cos(theta), np.sin(theta)
    n = theta.shape[0]
    t = np.zeros((n, 4, 4))
    t[:, 0, 0], t[:, 0, 1], t[:, 0, 3] = ct, -st, a
    t[:, 1, 0], t[:, 1, 1], t[:, 1, 2], t[:, 1, 3] = st * ca, ct * ca, -sa, -sa * d
    t[:, 2, 0], t[:, 2, 1], t[:, 2, 2], t[:, 2, 3] = st * sa, ct * sa, ca, ca * d
    t[:, 3, 3] = 1.0
    return t


def panda_fk(q: np.ndarray, tcp: bool = True) -> np.ndarray:
    """End-effector pose(s) in the robot base frame.

    Args:
        q: joint angles, (7,) or (N, 7) radians (extra finger entries beyond 7 are ignored).
        tcp: if True include the hand offset (fingertip centre), else stop at the flange.

    Returns:
        (4, 4) or (N, 4, 4) homogeneous transforms.
    """
    q = np.asarray(q, dtype=np.float64)
    single = q.ndim == 1
    qb = np.atleast_2d(q)
    if qb.shape[1] < 7:
        raise ValueError(f"panda_fk expects at least 7 joint values per row, got shape {q.shape}")
    qb = qb[:, :7]
    n = qb.shape[0]
    pose = np.tile(np.eye(4), (n, 1, 1))
    for j in range(7):
        a, d, alpha = PANDA_DH[j]
        pose = pose @ _mdh(np.full(n, a), np.full(n, d), np.full(n, alpha), qb[:, j])
    end = np.eye(4)
    end[2, 3] = PANDA_FLANGE_D + (PANDA_TCP_D if tcp else 0.0)
    pose = pose @ end
    return pose[0] if single else pose


def panda_ee_position(q: np.ndarray, tcp: bool = True) -> np.ndarray:
    """End-effector position(s): (3,) for q (7,), (N, 3) for q (N, 7)."""
    pose = panda_fk(q, tcp=tcp)
    return pose[..., :3, 3]
