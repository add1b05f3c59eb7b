"""Policies for the policy node: ``act(obs) -> joint target delta`` (pure Python, no ROS).

``obs`` is a dict: ``"q"`` (J,) and ``"dq"`` (J,) of the commanded joints, ``"images"`` view -> (H, W, 3) uint8,
``"progress"`` float (NaN when no reward node runs), ``"t"`` seconds since the policy started.

* scripted ``hold`` -- zeros; ``home`` -- move towards a home pose; ``sine`` -- a slow sinusoid on every joint
  (for bring-up checks); ``constant`` -- the same delta every tick (for limit tests).
* :class:`SB3Policy` -- a stable-baselines3 model file (SAC/TD3/PPO/...) on the state vector
  ``[q, dq, progress]`` whose action in [-1, 1] is scaled by ``action_scale`` (rad per tick).

For residual fine-tuning from a weak start (the fine-tuning node's ``base_policy: weak_push``):

* :func:`locate_on_table` -- colour centroid per view, unprojected through calibrated look-at cameras
  (:func:`unproject_to_plane`) onto the table plane: cube / target position without privileged state.
* :class:`WeakPushBase` -- a scripted Cartesian push (cube -> target) that stops after ``stop_fraction``.
* :class:`ResidualPushController` -- base step + bounded Cartesian residual -> damped-least-squares IK
  (:func:`ik_step`, Panda FK) -> arm joint targets; and the learner's observation vector.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, Mapping, Protocol, Sequence

import numpy as np

logger = logging.getLogger(__name__)

SCRIPTED = ("hold", "home", "sine", "constant")


class Policy(Protocol):
    """Anything with ``act(obs) -> (J,) joint target delta``."""

    def act(self, obs: Mapping[str, Any]) -> np.ndarray: ...


class ScriptedPolicy:
    """Hand-written policies (see module docstring). ``home`` (J,) and ``amplitude`` in rad."""

    def __init__(self, kind: str, num_joints: int, home: Sequence[float] | None = None, amplitude: float = 0.02,
                 period_s: float = 4.0, gain: float = 0.2) -> None:
        if kind not in SCRIPTED:
            raise ValueError(f"scripted policy must be one of {SCRIPTED}, got {kind!r}")
        if kind == "home" and (home is None or len(home) != num_joints):
            raise ValueError(f"'home' policy needs a home pose with {num_joints} values, got {home}")
        self.kind, self.n = kind, int(num_joints)
        self.home = np.asarray(home, dtype=np.float64) if home is not None else None
        self.amplitude, self.period_s, self.gain = float(amplitude), float(period_s), float(gain)

    def act(self, obs: Mapping[str, Any]) -> np.ndarray:
        if self.kind == "hold":
            return np.zeros(self.n)
        if self.kind == "constant":
            return np.full(self.n, self.amplitude)
        if self.kind == "home":
            assert self.home is not None
            return self.gain * (self.home - np.asarray(obs["q"], dtype=np.float64))
        phase = 2.0 * math.pi * float(obs.get("t", 0.0)) / self.period_s
        return np.full(self.n, self.amplitude * math.cos(phase))


def state_vector(obs: Mapping[str, Any]) -> np.ndarray:
    """``[q, dq, progress]`` (2J + 1,) float32; NaN progress -> 0."""
    prog = float(obs.get("progress", 0.0))
    return np.concatenate([np.asarray(obs["q"]), np.asarray(obs["dq"]),
                           [0.0 if not math.isfinite(prog) else prog]]).astype(np.float32)


class SB3Policy:
    """A saved stable-baselines3 model (``<algo>:<path.zip>``, algo in sac/td3/ddpg/ppo/a2c)."""

    ALGOS = ("sac", "td3", "ddpg", "ppo", "a2c")

    def __init__(self, spec: str, num_joints: int, action_scale: float = 0.05, device: str = "auto") -> None:
        algo, _, path = spec.partition(":")
        if algo.lower() not in self.ALGOS or not path:
            raise ValueError(f"SB3 policy spec must be '<algo>:<model.zip>' with algo in {self.ALGOS}, got {spec!r}")
        if not Path(path).is_file():
            raise ValueError(f"SB3 model file {path!r} does not exist")
        import stable_baselines3 as sb3

        cls = getattr(sb3, algo.upper())
        self.model = cls.load(path, device=device)
        shape = self.model.observation_space.shape
        if shape != (2 * num_joints + 1,):
            raise ValueError(f"SB3 model {path} expects observations of shape {shape}, the policy node gives "
                             f"[q, dq, progress] = ({2 * num_joints + 1},); retrain on that state vector")
        self.n, self.action_scale = int(num_joints), float(action_scale)

    def act(self, obs: Mapping[str, Any]) -> np.ndarray:
        action, _ = self.model.predict(state_vector(obs), deterministic=True)
        action = np.asarray(action, dtype=np.float64).reshape(-1)
        if action.shape != (self.n,):
            raise ValueError(f"SB3 policy returned action shape {action.shape}, expected ({self.n},)")
        return self.action_scale * np.clip(action, -1.0, 1.0)


def make_policy(spec: str, num_joints: int, home: Sequence[float] | None = None, amplitude: float = 0.02,
                action_scale: float = 0.05) -> Policy:
    """``scripted:<kind>`` or ``<algo>:<model.zip>`` (see :class:`SB3Policy`)."""
    kind, _, rest = spec.partition(":")
    if kind == "scripted":
        return ScriptedPolicy(rest, num_joints, home=home, amplitude=amplitude)
    return SB3Policy(spec, num_joints, action_scale=action_scale)


# ---------------------------------------------------------------------------------------------------------------
# Residual fine-tuning on top of a deliberately weak scripted push (used by the fine-tuning node).
#
# The weak base: find the red cube and the green target on the table from the camera images (colour centroid,
# unprojected through a calibrated pinhole onto the table plane), then a Cartesian push plan -- above the point
# behind the cube, down to the table, push along cube -> target -- that STOPS SHORT after ``stop_fraction`` of
# the push. The learner adds a bounded Cartesian residual (``residual_scale`` m per step per axis) to the base
# step; the sum goes through damped-least-squares IK (Panda FK of :mod:`robo_reward.real.kinematics`, hand kept
# pointing down) and then through the node's SafetyFilter. Success needs the residual to finish the push.
# ---------------------------------------------------------------------------------------------------------------

TABLE_CUBE_Z = 0.02  # cube centre height on the table (m)


def colour_centroid(rgb: np.ndarray, rule: Any, min_pixels: int = 4) -> np.ndarray | None:
    """Pixel centroid ``(u, v)`` (column, row) of the pixels matching ``rule`` in ``rgb`` (H, W, 3); None if too few."""
    mask = rule.mask(np.asarray(rgb)[None])[0]
    if int(mask.sum()) < min_pixels:
        return None
    rows, cols = np.nonzero(mask)
    return np.array([cols.mean(), rows.mean()], dtype=np.float64)


def unproject_to_plane(uv: np.ndarray, size: int, eye: Sequence[float], target: Sequence[float],
                       up: Sequence[float], fov_deg: float, plane_z: float) -> np.ndarray | None:
    """Pixel ``(u, v)`` of a square ``size`` image of a look-at pinhole (vertical fov) -> world point (3,) on z=plane_z.

    Same conventions as PyBullet's ``computeViewMatrix`` / ``computeProjectionMatrixFOV`` (row 0 = top).
    Returns None when the ray does not hit the plane in front of the camera.
    """
    e, t, u_up = (np.asarray(x, dtype=np.float64) for x in (eye, target, up))
    f = (t - e) / np.linalg.norm(t - e)
    right = np.cross(f, u_up)
    right /= np.linalg.norm(right)
    cam_up = np.cross(right, f)
    tan = math.tan(math.radians(fov_deg) / 2.0)
    x = (float(uv[0]) + 0.5) / size * 2.0 - 1.0
    y = 1.0 - (float(uv[1]) + 0.5) / size * 2.0
    ray = f + x * tan * right + y * tan * cam_up
    if abs(ray[2]) < 1e-9:
        return None
    s = (plane_z - e[2]) / ray[2]
    return e + s * ray if s > 0 else None


def locate_on_table(images: Mapping[str, np.ndarray], cameras: Mapping[str, Any], rule: Any,
                    plane_z: float = TABLE_CUBE_Z) -> np.ndarray | None:
    """Mean table position (3,) of the ``rule`` colour over the views in both ``images`` and ``cameras``.

    ``cameras`` maps view -> object with ``eye``, ``target``, ``up``, ``fov`` (e.g. the sim's ``CameraSpec``).
    """
    pts = []
    for view, rgb in images.items():
        cam = cameras.get(view)
        uv = colour_centroid(rgb, rule) if cam is not None else None
        if uv is None:
            continue
        p = unproject_to_plane(uv, rgb.shape[0], cam.eye, cam.target, cam.up, cam.fov, plane_z)
        if p is not None:
            pts.append(p)
    return np.mean(pts, axis=0) if pts else None


def _rot_error(r: np.ndarray, r_des: np.ndarray) -> np.ndarray:
    """Axis-angle-ish orientation error (3,) taking ``r`` to ``r_des`` (world frame, small-angle)."""
    return 0.5 * sum(np.cross(r[:, i], r_des[:, i]) for i in range(3))


def ik_step(q: np.ndarray, pos_des: np.ndarray, rot_des: np.ndarray, damping: float = 0.05,
            rot_weight: float = 0.5) -> np.ndarray:
    """One damped-least-squares IK step for the Panda arm: q (7,) -> q_new (7,) towards pose (pos_des, rot_des)."""
    from robo_reward.real.kinematics import panda_fk

    q = np.asarray(q, dtype=np.float64)[:7]
    pose = panda_fk(q)
    err = np.concatenate([pos_des - pose[:3, 3], rot_weight * _rot_error(pose[:3, :3], rot_des)])
    eps = 1e-5
    jac = np.zeros((6, 7))
    poses = panda_fk(q[None] + eps * np.eye(7))  # (7, 4, 4)
    for j in range(7):
        jac[:3, j] = (poses[j, :3, 3] - pose[:3, 3]) / eps
        jac[3:, j] = rot_weight * _rot_error(pose[:3, :3], poses[j, :3, :3]) / eps
    dq = jac.T @ np.linalg.solve(jac @ jac.T + damping**2 * np.eye(6), err)
    return q + dq


class WeakPushBase:
    """Scripted push that stops short (see the section comment). Positions in metres, robot base frame.

    Phases: 0 = go above the pre-push point (``behind`` the cube on the cube -> target line), 1 = down to
    ``z_push``, 2 = push along the line at ``push_step`` per step for a fixed number of steps covering
    ``stop_fraction`` of the full push (open loop in time, so a forward residual pushes further), 3 = lift to
    ``z_above`` (lets go of the cube: the task counts a cube touched by both fingers as grasped), 4 = done.

    Args:
        cube_xy, goal_xy: (2,) estimated cube and target centres.
        stop_fraction: fraction of the full push (to the point that centres the cube on the target) done.
        step: max Cartesian move per control step outside the push; ``push_step`` while pushing.
        steer: steer the push with the latest cube estimate (off by default: with the cube partly hidden by
            the hand, the image estimate is biased and steering made the sim push worse).
    """

    PHASES = 5

    def __init__(self, cube_xy: np.ndarray, goal_xy: np.ndarray, stop_fraction: float = 0.5,
                 step: float = 0.03, push_step: float = 0.01, z_above: float = 0.10, z_push: float = 0.025,
                 behind: float = 0.065, tol: float = 0.012, steer: bool = False) -> None:
        if not 0.0 <= stop_fraction <= 1.5:
            raise ValueError(f"stop_fraction must be in [0, 1.5], got {stop_fraction}")
        self.cube, self.goal = np.asarray(cube_xy, float)[:2], np.asarray(goal_xy, float)[:2]
        d = self.goal - self.cube
        self.direction = d / max(float(np.linalg.norm(d)), 1e-6)
        pre = self.cube - behind * self.direction
        full_end = self.goal - (behind - 0.03) * self.direction  # hand here -> cube centred on the target
        self.push_steps = int(math.ceil(stop_fraction * float(np.linalg.norm(full_end - pre)) / push_step))
        self.waypoints = [np.array([*pre, z_above]), np.array([*pre, z_push])]
        self.step, self.push_step, self.z_above, self.tol = step, push_step, z_above, tol
        self.contact = behind - 0.03  # hand-to-cube-centre distance while pushing (m)
        self.index, self.pushed_steps, self.steer = 0, 0, bool(steer)

    @property
    def phase(self) -> float:
        """Current phase / 4, in [0, 1]."""
        return self.index / (self.PHASES - 1)

    def _towards(self, point: np.ndarray, goal: np.ndarray, cap: float) -> np.ndarray:
        d = goal - point
        n = float(np.linalg.norm(d))
        return d if n <= cap else d * (cap / n)

    def delta(self, point: np.ndarray, cube_xy: np.ndarray | None = None) -> np.ndarray:
        """Cartesian move (3,) for this step from the hand setpoint ``point`` (3,); zeros once done.

        ``cube_xy`` (2,), the latest cube estimate, steers the push: along cube -> target, with a lateral
        correction (at most ``push_step``) towards the line through the cube.
        """
        while self.index < 2 and np.linalg.norm(self.waypoints[self.index] - point) < self.tol:
            self.index += 1
        if self.index < 2:
            return self._towards(point, self.waypoints[self.index], self.step)
        if self.index == 2:
            if self.pushed_steps < self.push_steps:
                self.pushed_steps += 1
                if cube_xy is None or not self.steer:
                    return np.array([*(self.push_step * self.direction), 0.0])
                c = np.asarray(cube_xy, float)[:2]
                u = self.goal - c
                u = u / max(float(np.linalg.norm(u)), 1e-6)
                off = (c - self.contact * u) - point[:2]
                lateral = off - (off @ u) * u
                n = float(np.linalg.norm(lateral))
                lateral = lateral if n <= self.push_step else lateral * (self.push_step / n)
                return np.array([*(self.push_step * u + lateral), 0.0])
            self.index = 3
        if self.index == 3:
            if self.z_above - point[2] > self.tol:
                return np.array([0.0, 0.0, min(self.step, self.z_above - point[2])])
            self.index = 4
        return np.zeros(3)


def push_orientation(direction: np.ndarray, rot_now: np.ndarray) -> np.ndarray:
    """Hand rotation (3, 3): pointing down, fingers side by side across the push ``direction`` (2,) (flat contact).

    Of the two equivalent yaws (the hand is symmetric) the one closest to ``rot_now`` is returned.
    """
    u = np.asarray(direction, float)[:2]
    y = np.array([-u[1], u[0], 0.0])
    if y @ rot_now[:, 1] < 0:
        y = -y
    z = np.array([0.0, 0.0, -1.0])
    return np.stack([np.cross(y, z), y, z], axis=1)


class ResidualPushController:
    """Weak push base + bounded residual -> joint targets; observation vector for the learner.

    ``obs`` (12,) float32: ``[ee - cube (3), goal - cube (2), initial push direction (2), phase, progress, t,
    ee_z, pushed]`` with the latest cube estimate, where ``pushed`` is the signed distance of the hand past the
    pre-push point along the push direction.
    Action (3,) in [-1, 1]: Cartesian residual times ``residual_scale`` (m), added to the base step; in world
    xyz (``frame="world"``) or in the push frame (``"push"``: along the push direction, to its left, up -- the
    same correction then means the same action on every layout). The residual is applied once the base
    reaches phase ``from_phase`` (2 = from the push on: the approach stays scripted; 0 = always).
    """

    OBS_DIM = 12
    ACT_DIM = 3
    FRAMES = ("world", "push")

    def __init__(self, base: WeakPushBase, rot_des: np.ndarray, residual_scale: float = 0.015,
                 z_min: float = 0.015, windup: float = 0.02, frame: str = "world", from_phase: int = 0) -> None:
        if frame not in self.FRAMES:
            raise ValueError(f"residual frame must be one of {self.FRAMES}, got {frame!r}")
        self.base, self.rot_des = base, np.asarray(rot_des, float)
        self.residual_scale, self.z_min, self.windup = float(residual_scale), float(z_min), float(windup)
        self.frame, self.from_phase = frame, int(from_phase)
        self.applied = False  # whether the last :meth:`target` call applied the residual
        self.setpoint: np.ndarray | None = None
        self.cube_now = base.cube.copy()  # latest cube estimate (xy), updated by :meth:`observe_cube`

    def observe_cube(self, cube_xy: np.ndarray | None) -> None:
        """Latest cube estimate from the cameras (None = not visible: keep the previous one)."""
        if cube_xy is not None:
            self.cube_now = np.asarray(cube_xy, float)[:2].copy()

    def obs(self, ee: np.ndarray, progress: float, t: float) -> np.ndarray:
        b = self.base
        rel = ee - np.array([*self.cube_now, TABLE_CUBE_Z])
        pushed = float((ee[:2] - b.waypoints[1][:2]) @ b.direction)  # m past the pre-push point
        prog = 0.0 if not math.isfinite(progress) else progress
        return np.concatenate([rel, b.goal - self.cube_now, b.direction, [b.phase, prog, t, ee[2], pushed]]
                              ).astype(np.float32)

    def to_world(self, action: np.ndarray) -> np.ndarray:
        """Residual (3,) in the controller's frame -> world xyz. ``push`` frame: (along the push direction,
        to its left, up); ``world``: unchanged."""
        if self.frame == "world":
            return action
        u = self.base.direction
        return action[0] * np.array([u[0], u[1], 0.0]) + action[1] * np.array([-u[1], u[0], 0.0]) + \
            np.array([0.0, 0.0, action[2]])

    def target(self, q: np.ndarray, action: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Arm joints ``q`` (7,) and residual ``action`` (3,) (None = base only) -> (q_des (7,), Cartesian setpoint).

        The Cartesian setpoint integrates base step + residual every call (so the hand's speed does not depend
        on how fast the arm's controller tracks) and is kept within ``windup`` m of the measured hand.
        """
        from robo_reward.real.kinematics import panda_ee_position

        ee = panda_ee_position(np.asarray(q, float)[:7])
        sp = ee.copy() if self.setpoint is None else np.clip(self.setpoint, ee - self.windup, ee + self.windup)
        move = self.base.delta(sp, self.cube_now)
        self.applied = action is not None and self.base.index >= self.from_phase
        if self.applied:
            move = move + self.residual_scale * self.to_world(np.clip(np.asarray(action, float).reshape(3), -1.0, 1.0))
        sp = sp + move
        sp[2] = max(sp[2], self.z_min)
        self.setpoint = sp
        return ik_step(q, sp, self.rot_des), sp
