"""Command safety filter for joint-position control (pure Python, no ROS).

Order of checks in :meth:`SafetyFilter.filter`, for a desired joint target ``q_des`` given the measured ``q``:

1. **E-stop** (latching): once :meth:`SafetyFilter.engage_estop` is called the filter holds until
   :meth:`SafetyFilter.reset_estop` -- a ``False`` on the e-stop topic does not release it.
2. **Watchdog**: any input (joint states, each camera) older than ``watchdog_timeout_s`` -> hold.
3. **Step limit**: per joint ``|q_cmd - q| <= min(max_step, dq_max * dt)``.
4. **Position limits**: ``q_min <= q_cmd <= q_max``.
5. **Workspace box**: the Panda TCP (forward kinematics) must stay inside ``[ws_min, ws_max]``; a step that
   would leave it is shortened along its direction (bisection) to the largest fraction that stays inside;
   if the arm is already outside, only steps that bring it closer to the box are allowed.

"Hold" means: command the measured position once (so a trajectory controller stops), then send nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from robo_reward.real.kinematics import panda_ee_position

logger = logging.getLogger(__name__)

#: Franka Panda joint limits (datasheet). Name -> (q_min, q_max, dq_max).
PANDA_JOINT_LIMITS: dict[str, tuple[float, float, float]] = {
    "panda_joint1": (-2.8973, 2.8973, 2.1750),
    "panda_joint2": (-1.7628, 1.7628, 2.1750),
    "panda_joint3": (-2.8973, 2.8973, 2.1750),
    "panda_joint4": (-3.0718, -0.0698, 2.1750),
    "panda_joint5": (-2.8973, 2.8973, 2.6100),
    "panda_joint6": (-0.0175, 3.7525, 2.6100),
    "panda_joint7": (-2.8973, 2.8973, 2.6100),
    "panda_finger_joint1": (0.0, 0.04, 0.2),
    "panda_finger_joint2": (0.0, 0.04, 0.2),
}
PANDA_ARM_JOINTS: tuple[str, ...] = tuple(f"panda_joint{i}" for i in range(1, 8))
PANDA_HOME: tuple[float, ...] = (0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785)
#: Default TCP workspace box in the base frame (m): in front of the robot, above the table.
PANDA_WORKSPACE_MIN: tuple[float, float, float] = (0.15, -0.6, 0.0)
PANDA_WORKSPACE_MAX: tuple[float, float, float] = (0.85, 0.6, 0.9)


@dataclass
class SafetyLimits:
    """Limits for a set of commanded joints (arrays are in ``joint_names`` order)."""

    joint_names: tuple[str, ...]
    q_min: np.ndarray  # (J,) rad or m
    q_max: np.ndarray  # (J,)
    dq_max: np.ndarray  # (J,) per second
    max_step: float = 0.05
    """largest change per command and joint (rad or m), on top of dq_max * dt"""
    workspace_min: np.ndarray = field(default_factory=lambda: np.array(PANDA_WORKSPACE_MIN))  # (3,)
    workspace_max: np.ndarray = field(default_factory=lambda: np.array(PANDA_WORKSPACE_MAX))  # (3,)
    watchdog_timeout_s: float = 0.2
    check_workspace: bool = True
    """needs the 7 Panda arm joints among ``joint_names``; disable for other arms"""

    def __post_init__(self) -> None:
        self.joint_names = tuple(self.joint_names)
        j = len(self.joint_names)
        for name in ("q_min", "q_max", "dq_max"):
            arr = np.asarray(getattr(self, name), dtype=np.float64).reshape(-1)
            if arr.shape != (j,):
                raise ValueError(f"SafetyLimits.{name} must have one value per joint ({j}), got shape {arr.shape}")
            setattr(self, name, arr)
        self.workspace_min = np.asarray(self.workspace_min, dtype=np.float64).reshape(3)
        self.workspace_max = np.asarray(self.workspace_max, dtype=np.float64).reshape(3)
        if np.any(self.q_min > self.q_max):
            raise ValueError(f"SafetyLimits: q_min must be <= q_max per joint, got {self.q_min} > {self.q_max}")
        if np.any(self.dq_max <= 0):
            raise ValueError(f"SafetyLimits.dq_max must be > 0, got {self.dq_max}")
        if not self.max_step > 0:
            raise ValueError(f"SafetyLimits.max_step must be > 0, got {self.max_step}")
        if not self.watchdog_timeout_s > 0:
            raise ValueError(f"SafetyLimits.watchdog_timeout_s must be > 0, got {self.watchdog_timeout_s}")
        if np.any(self.workspace_min >= self.workspace_max):
            raise ValueError(
                f"SafetyLimits: workspace_min must be < workspace_max, got {self.workspace_min} / {self.workspace_max}"
            )
        if self.check_workspace:
            missing = [n for n in PANDA_ARM_JOINTS if n not in self.joint_names]
            if missing:
                raise ValueError(
                    f"workspace check needs the Panda arm joints, missing {missing}; "
                    "command all 7 arm joints or set check_workspace=False"
                )
            self._arm_idx = np.array([self.joint_names.index(n) for n in PANDA_ARM_JOINTS])

    @classmethod
    def panda(cls, joint_names: Sequence[str] = PANDA_ARM_JOINTS, **kwargs: object) -> "SafetyLimits":
        """Panda datasheet limits for ``joint_names`` (names must be in :data:`PANDA_JOINT_LIMITS`)."""
        unknown = [n for n in joint_names if n not in PANDA_JOINT_LIMITS]
        if unknown:
            raise ValueError(f"no Panda default limits for joints {unknown}; known: {sorted(PANDA_JOINT_LIMITS)}")
        lim = np.array([PANDA_JOINT_LIMITS[n] for n in joint_names])
        return cls(tuple(joint_names), lim[:, 0], lim[:, 1], lim[:, 2], **kwargs)  # type: ignore[arg-type]

    def tcp_position(self, q: np.ndarray) -> np.ndarray:
        """TCP position (3,) for commanded-joint vector q (J,)."""
        return panda_ee_position(np.asarray(q)[self._arm_idx])

    def workspace_violation(self, q: np.ndarray) -> float:
        """Distance (m) of the TCP outside the workspace box; 0 inside."""
        p = self.tcp_position(q)
        out = np.maximum(self.workspace_min - p, 0.0) + np.maximum(p - self.workspace_max, 0.0)
        return float(np.linalg.norm(out))


@dataclass
class SafetyDecision:
    """What to send: ``command`` (J,) or None (send nothing); ``hold`` says the filter is holding."""

    command: np.ndarray | None
    hold: bool
    reasons: tuple[str, ...] = ()  # e.g. ("estop",), ("watchdog:/camera/front",), ("step", "position")


class SafetyFilter:
    """Stateful filter from desired joint targets to safe commands (see module docstring)."""

    def __init__(self, limits: SafetyLimits) -> None:
        self.limits = limits
        self._estop = False
        self._holding_sent = False
        self.counters: dict[str, int] = {"step": 0, "position": 0, "workspace": 0, "watchdog": 0, "estop": 0}

    @property
    def estopped(self) -> bool:
        return self._estop

    def engage_estop(self) -> None:
        """Latch the e-stop; only :meth:`reset_estop` releases it."""
        if not self._estop:
            logger.warning("e-stop engaged")
        self._estop = True

    def reset_estop(self) -> None:
        """Release the e-stop latch (explicit operator action)."""
        if self._estop:
            logger.warning("e-stop released by reset")
        self._estop = False

    def stale_inputs(self, input_stamps: Mapping[str, float | None], now: float) -> list[str]:
        """Names of inputs never seen or older than the watchdog timeout (times in seconds)."""
        return [
            name for name, t in input_stamps.items() if t is None or now - t > self.limits.watchdog_timeout_s
        ]

    def _hold(self, q: np.ndarray, reasons: tuple[str, ...]) -> SafetyDecision:
        for r in reasons:
            key = r.split(":")[0]
            self.counters[key] = self.counters.get(key, 0) + 1
        if self._holding_sent:
            return SafetyDecision(None, True, reasons)
        self._holding_sent = True
        return SafetyDecision(np.clip(q, self.limits.q_min, self.limits.q_max), True, reasons)

    def clamp(self, q: np.ndarray, q_des: np.ndarray, dt: float) -> tuple[np.ndarray, tuple[str, ...]]:
        """Apply step, position and workspace limits. q, q_des (J,); returns (q_cmd (J,), reasons)."""
        lim = self.limits
        q = np.asarray(q, dtype=np.float64).reshape(-1)
        q_des = np.asarray(q_des, dtype=np.float64).reshape(-1)
        if q.shape != lim.q_min.shape or q_des.shape != lim.q_min.shape:
            raise ValueError(
                f"SafetyFilter expects q and q_des of shape {lim.q_min.shape} ({lim.joint_names}), "
                f"got {q.shape} and {q_des.shape}"
            )
        if not np.all(np.isfinite(q_des)):
            return q.copy(), ("nonfinite",)
        reasons: list[str] = []
        step = np.minimum(lim.max_step, lim.dq_max * max(dt, 1e-6))
        delta = np.clip(q_des - q, -step, step)
        if np.any(np.abs(delta - (q_des - q)) > 1e-12):
            reasons.append("step")
        cmd = q + delta
        clipped = np.clip(cmd, lim.q_min, lim.q_max)
        if np.any(clipped != cmd):
            reasons.append("position")
        cmd = clipped
        if lim.check_workspace:
            v0 = lim.workspace_violation(q)
            v1 = lim.workspace_violation(cmd)
            ok = (lambda v: v <= 0.0) if v0 <= 0.0 else (lambda v: v < v0)
            if not ok(v1):
                reasons.append("workspace")
                lo, hi = 0.0, 1.0
                for _ in range(12):
                    mid = 0.5 * (lo + hi)
                    if ok(lim.workspace_violation(q + mid * (cmd - q))):
                        lo = mid
                    else:
                        hi = mid
                cmd = np.clip(q + lo * (cmd - q), lim.q_min, lim.q_max)
        return cmd, tuple(reasons)

    def filter(
        self, q: np.ndarray, q_des: np.ndarray, dt: float, input_stamps: Mapping[str, float | None], now: float
    ) -> SafetyDecision:
        """One control tick. q, q_des (J,); dt control period (s); input_stamps name -> last receipt time (s)."""
        q = np.asarray(q, dtype=np.float64).reshape(-1)
        if self._estop:
            return self._hold(q, ("estop",))
        stale = self.stale_inputs(input_stamps, now)
        if stale:
            return self._hold(q, tuple(f"watchdog:{s}" for s in stale))
        cmd, reasons = self.clamp(q, q_des, dt)
        for r in reasons:
            self.counters[r] = self.counters.get(r, 0) + 1
        self._holding_sent = False
        return SafetyDecision(cmd, False, reasons)
