"""Weak-start residual fine-tuning logic (no ROS): camera unprojection, the weak push, IK, residual bounds."""

from __future__ import annotations

import numpy as np
import pytest

from robo_reward.real.kinematics import panda_ee_position, panda_fk
from robo_reward.real.policies import (
    ResidualPushController, WeakPushBase, ik_step, locate_on_table, push_orientation, unproject_to_plane,
)

HOME = np.array([0.0, -0.25, 0.0, -2.3, 0.0, 2.05, 0.785])  # the sim Panda's home pose (arm joints)


def test_unprojection_inverts_pybullet_camera() -> None:
    pb = pytest.importorskip("pybullet")
    eye, target, up, fov, size = (1.2, 0.0, 0.75), (0.45, 0.0, 0.05), (0.0, 0.0, 1.0), 50.0, 64
    view = np.array(pb.computeViewMatrix(eye, target, up)).reshape(4, 4).T
    proj = np.array(pb.computeProjectionMatrixFOV(fov, 1.0, 0.01, 10.0)).reshape(4, 4).T
    for world in ([0.5, 0.1, 0.02], [0.38, -0.17, 0.02], [0.62, 0.05, 0.0]):
        clip = proj @ view @ np.array([*world, 1.0])
        ndc = clip[:2] / clip[3]
        uv = np.array([(ndc[0] + 1) / 2 * size - 0.5, (1 - ndc[1]) / 2 * size - 0.5])
        got = unproject_to_plane(uv, size, eye, target, up, fov, world[2])
        np.testing.assert_allclose(got, world, atol=1e-6)
    assert unproject_to_plane(np.array([32.0, 0.0]), size, eye, (2.0, 0.0, 1.0), up, fov, 0.0) is None  # sky


def test_cube_and_target_found_in_sim_images() -> None:
    from robo_reward.real.heuristic import GREEN, RED
    from robo_reward.sim.cameras import DEFAULT_CAMERAS
    from robo_reward.sim.env import make_env

    env = make_env("pick_place", obs_mode="state", views=("front", "side"), image_size=64, render_quality="fast")
    try:
        for seed in (1, 2):
            env.reset(seed=seed)
            images = env.render_views()
            cube = locate_on_table(images, DEFAULT_CAMERAS, RED)
            goal = locate_on_table(images, DEFAULT_CAMERAS, GREEN, plane_z=0.0)
            assert np.linalg.norm(cube[:2] - env.task.pos(env.task.cube)[:2]) < 0.025
            assert np.linalg.norm(goal[:2] - env.task.target) < 0.025
    finally:
        env.close()
    assert locate_on_table({"front": np.zeros((64, 64, 3), np.uint8)}, DEFAULT_CAMERAS, RED) is None


def test_ik_step_converges_and_keeps_the_hand_down() -> None:
    rot = panda_fk(HOME)[:3, :3]
    goal = panda_ee_position(HOME) + np.array([0.08, -0.1, -0.2])
    q = HOME.copy()
    for _ in range(30):
        q = ik_step(q, goal, rot)
    pose = panda_fk(q)
    assert np.linalg.norm(pose[:3, 3] - goal) < 2e-3
    assert np.abs(pose[:3, :3] - rot).max() < 0.02


def _rollout(stop_fraction: float, action: np.ndarray | None, steps: int = 120) -> tuple[WeakPushBase, np.ndarray]:
    """Perfect joint tracking (q <- q_des) until the base is done. Returns the base and the hand path (T, 3)."""
    cube, goal = np.array([0.5, 0.1]), np.array([0.55, -0.1])
    base = WeakPushBase(cube, goal, stop_fraction=stop_fraction)
    ctl = ResidualPushController(base, push_orientation(base.direction, panda_fk(HOME)[:3, :3]))
    q, path = HOME.copy(), []
    for _ in range(steps):
        act = None if action is None else np.array([*(action[0] * base.direction), action[1]])
        q, _ = ctl.target(q, act)
        path.append(panda_ee_position(q))
        if base.index == 4:
            break
    return base, np.array(path)


def test_weak_push_stops_short_and_a_forward_residual_finishes_it() -> None:
    base, path = _rollout(0.6, None)
    pre = base.waypoints[1][:2]
    full = float(np.linalg.norm((base.goal - 0.035 * base.direction) - pre))  # hand travel of the full push
    along = (path[:, :2] - pre) @ base.direction
    assert base.index == 4 and base.phase == 1.0  # approached, pushed, lifted, done
    assert along.max() == pytest.approx(0.6 * full, abs=0.012)  # stops short by 40 %
    assert path[-1, 2] == pytest.approx(base.z_above, abs=0.015)  # let go of the cube at the end
    assert path[:, 2].min() > 0.012  # never into the table (z_min)
    low = path[:, 2] < 0.035
    assert np.abs(((path[low, :2] - pre) @ np.array([-base.direction[1], base.direction[0]]))).max() < 0.01

    _, pushed = _rollout(0.6, np.array([0.5, 0.0]))  # residual: +0.5 along the push every step
    along2 = (pushed[:, :2] - pre) @ base.direction
    extra = along2.max() - along.max()
    assert extra > 0.3 * full  # the residual makes up the missing 40 %
    # bounded by residual_scale per step of push, lift (3 steps) and the final step, plus the waypoint tolerance
    assert extra <= (base.push_steps + 4) * 0.5 * 0.015 + base.tol


def test_residual_is_bounded_and_obs_shape() -> None:
    base = WeakPushBase(np.array([0.5, 0.0]), np.array([0.5, 0.2]), stop_fraction=0.0)
    ctl = ResidualPushController(base, panda_fk(HOME)[:3, :3], residual_scale=0.01)
    ee = panda_ee_position(HOME)
    base.index = 4  # base done: only the residual moves the setpoint
    _, sp = ctl.target(HOME, np.array([5.0, -5.0, 0.0]))  # clipped to [-1, 1]
    np.testing.assert_allclose(sp - ee, [0.01, -0.01, 0.0], atol=1e-9)
    obs = ctl.obs(ee, float("nan"), 0.5)
    assert obs.shape == (ResidualPushController.OBS_DIM,) and obs.dtype == np.float32 and np.all(np.isfinite(obs))
    ctl.observe_cube(None)
    np.testing.assert_allclose(ctl.cube_now, [0.5, 0.0])
    ctl.observe_cube(np.array([0.52, 0.01, 0.02]))
    np.testing.assert_allclose(ctl.obs(ee, 0.3, 0.5)[:2], ee[:2] - [0.52, 0.01], atol=1e-6)
    with pytest.raises(ValueError, match="stop_fraction"):
        WeakPushBase(np.zeros(2), np.ones(2), stop_fraction=2.0)


def test_push_frame_residual_and_phase_gate() -> None:
    base = WeakPushBase(np.array([0.5, 0.0]), np.array([0.5, 0.2]), stop_fraction=0.0)  # push along +y
    ee = panda_ee_position(HOME)
    ctl = ResidualPushController(base, panda_fk(HOME)[:3, :3], residual_scale=0.01, frame="push", from_phase=2)
    np.testing.assert_allclose(ctl.to_world(np.array([1.0, 0.0, 0.0])), [0.0, 1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(ctl.to_world(np.array([0.0, 1.0, -1.0])), [-1.0, 0.0, -1.0], atol=1e-12)  # left
    _, sp_base = ResidualPushController(base, ctl.rot_des, frame="push").target(HOME, None)
    base.index = 0
    _, sp = ctl.target(HOME, np.array([1.0, 1.0, 1.0]))  # approach (phase 0): the residual is ignored
    assert not ctl.applied
    np.testing.assert_allclose(sp, sp_base, atol=1e-12)
    base.index, ctl.setpoint = 4, None  # base done: only the residual moves the setpoint, along the push
    _, sp = ctl.target(HOME, np.array([1.0, 0.0, 0.0]))
    assert ctl.applied
    np.testing.assert_allclose(sp - ee, [0.0, 0.01, 0.0], atol=1e-9)
    with pytest.raises(ValueError, match="frame"):
        ResidualPushController(base, ctl.rot_des, frame="tool")
