"""SafetyFilter and Panda FK without ROS."""

from __future__ import annotations

import numpy as np
import pytest

from robo_reward.real.kinematics import panda_ee_position, panda_fk
from robo_reward.real.safety import PANDA_ARM_JOINTS, PANDA_HOME, SafetyFilter, SafetyLimits

HOME = np.array(PANDA_HOME)


def _filter(**kw: object) -> SafetyFilter:
    return SafetyFilter(SafetyLimits.panda(**kw))


def test_fk_known_poses() -> None:
    # all zeros: flange at x = a7 = 0.088, z = 0.333 + 0.316 + 0.384 - 0.107 = 0.926
    np.testing.assert_allclose(panda_ee_position(np.zeros(7), tcp=False), [0.088, 0.0, 0.926], atol=1e-9)
    # "ready" pose: TCP about 0.31 m in front, 0.49 m up, pointing down
    pose = panda_fk(HOME)
    np.testing.assert_allclose(pose[:3, 3], [0.307, 0.0, 0.487], atol=2e-3)
    np.testing.assert_allclose(pose[:3, 2], [0.0, 0.0, -1.0], atol=2e-3)
    batch = panda_ee_position(np.stack([np.zeros(7), HOME]))
    assert batch.shape == (2, 3)
    np.testing.assert_allclose(batch[1], pose[:3, 3])
    # rotation about joint 1 rotates the TCP about z
    q = HOME.copy()
    q[0] = np.pi / 2
    np.testing.assert_allclose(panda_ee_position(q), [0.0, 0.307, 0.487], atol=2e-3)


def test_step_and_position_limits() -> None:
    f = _filter(max_step=0.05)
    q_des = HOME + 1.0
    d = f.filter(HOME, q_des, dt=0.05, input_stamps={"js": 0.0}, now=0.0)
    assert not d.hold and "step" in d.reasons
    assert np.all(np.abs(d.command - HOME) <= 0.05 + 1e-12)
    # dq_max * dt is tighter than max_step at high rate: 2.175 rad/s * 0.01 s = 0.02175
    d = f.filter(HOME, q_des, dt=0.01, input_stamps={}, now=0.0)
    assert np.max(np.abs(d.command - HOME)[:4]) == pytest.approx(0.02175)
    # joint 4 upper limit is -0.0698: from -0.08 a +0.05 step is clipped at the limit
    q = HOME.copy()
    q[3] = -0.08
    lim = SafetyLimits.panda(max_step=0.05, check_workspace=False)
    d = SafetyFilter(lim).filter(q, q + np.array([0, 0, 0, 0.05, 0, 0, 0]), 0.05, {}, 0.0)
    assert d.command[3] == pytest.approx(-0.0698) and "position" in d.reasons


def test_workspace_box_shortens_steps() -> None:
    lim = SafetyLimits.panda(max_step=0.5, workspace_min=(0.2, -0.5, 0.45), workspace_max=(0.8, 0.5, 0.9))
    f = SafetyFilter(lim)
    assert lim.workspace_violation(HOME) == 0.0  # TCP z = 0.487
    q_des = HOME.copy()
    q_des[1] += 0.4  # shoulder forward: the TCP drops to z = 0.355
    assert panda_ee_position(q_des)[2] < 0.45
    d = f.filter(HOME, q_des, 1.0, {}, 0.0)
    assert "workspace" in d.reasons
    assert lim.workspace_violation(d.command) == 0.0
    assert 0.0 < d.command[1] - HOME[1] < 0.4  # moved part of the way


def test_watchdog_holds_once_then_silent_and_recovers() -> None:
    f = _filter(watchdog_timeout_s=0.2)
    stamps = {"joint_states": 10.0, "cam": 9.85}
    assert not f.filter(HOME, HOME + 0.01, 0.05, stamps, now=10.0).hold
    stamps["cam"] = 9.79  # 210 ms old
    d = f.filter(HOME, HOME + 0.01, 0.05, stamps, now=10.0)
    assert d.hold and d.reasons == ("watchdog:cam",)
    np.testing.assert_allclose(d.command, HOME)  # one hold command at the measured pose
    assert f.filter(HOME, HOME + 0.01, 0.05, stamps, now=10.01).command is None  # then nothing
    assert f.filter(HOME, HOME, 0.05, {"never": None}, now=0.0).hold  # never-seen input counts as stale
    stamps["cam"] = 10.0
    d = f.filter(HOME, HOME + 0.01, 0.05, stamps, now=10.02)
    assert not d.hold and d.command is not None


def test_estop_latches_until_reset() -> None:
    f = _filter()
    f.engage_estop()
    assert f.filter(HOME, HOME + 0.01, 0.05, {}, 0.0).hold
    assert f.filter(HOME, HOME + 0.01, 0.05, {}, 0.0).command is None
    assert f.estopped  # nothing but reset releases it
    f.reset_estop()
    d = f.filter(HOME, HOME + 0.01, 0.05, {}, 0.0)
    assert not d.hold and d.command is not None and f.counters["estop"] == 2


def test_limits_validation_messages() -> None:
    with pytest.raises(ValueError, match="one value per joint"):
        SafetyLimits(PANDA_ARM_JOINTS, np.zeros(6), np.ones(7), np.ones(7))
    with pytest.raises(ValueError, match="no Panda default limits"):
        SafetyLimits.panda(("elbow",))
    with pytest.raises(ValueError, match="missing"):
        SafetyLimits.panda(PANDA_ARM_JOINTS[:6])
    with pytest.raises(ValueError, match="expects q and q_des of shape"):
        _filter().clamp(np.zeros(6), np.zeros(6), 0.1)
    d = _filter().filter(HOME, HOME * np.nan, 0.05, {}, 0.0)
    np.testing.assert_allclose(d.command, HOME)
    assert d.reasons == ("nonfinite",)
