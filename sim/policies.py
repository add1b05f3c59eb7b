"""Scripted policies: the waypoint expert and failure generators that make realistic non-expert rollouts.

All policies read privileged state from the env (object poses through the task's expert plan), so they work
in any ``obs_mode``. The outcome label of a rollout is decided by what happened (see ``record.outcome_of``),
never by the policy mode.

Modes:
    expert        follow the task's waypoint plan.
    noisy_expert  the expert plus Gaussian action noise (std 0.35) and occasional random pauses.
    missed_grasp  the plan with the grasp/contact waypoints shifted 4-7 cm sideways (closes on air / misses).
    drop          the expert, but the gripper opens at a random moment while carrying (or lets go mid-push/pull;
                  for reach it hovers above the target).
    stop_early    the expert for a random 10-75 % of its nominal duration, then holds still.
    wrong_target  the plan with the goal waypoints moved 10-16 cm away from the real goal.
    random        temporally correlated random actions with random gripper toggles.
    wander        (opt-in) purposeful moves to 2-3 random places of the workspace far from every goal.
    near_miss     (opt-in) the expert, but the goal waypoints moved 4-12 cm in a random 3-D direction (above,
                  below, beside, short of the goal), then held: where RL learners stop when a potential is
                  already high a few centimetres short of the goal.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Protocol

import numpy as np

from robo_reward.sim.env import WORKSPACE_HIGH, WORKSPACE_LOW, TabletopEnv
from robo_reward.sim.tasks.base import Waypoint

logger = logging.getLogger(__name__)

MODES = ("expert", "noisy_expert", "missed_grasp", "drop", "stop_early", "wrong_target", "random", "wander",
         "near_miss")
#: The failure modes recordings draw from by default ("wander" and "near_miss" are opt-in: ``failure_modes`` in the
#: record config, so that the default datasets stay what they were).
FAILURE_MODES = ("missed_grasp", "drop", "stop_early", "wrong_target", "random")
#: Every mode that can be asked for as a failure mode.
SELECTABLE_FAILURE_MODES = tuple(m for m in MODES if m not in ("expert", "noisy_expert"))


class Policy(Protocol):
    mode: str

    def reset(self) -> None: ...

    def act(self, obs: object) -> np.ndarray: ...


class WaypointPolicy:
    """Follows a list of waypoints with proportional control; call :meth:`reset` after ``env.reset``.

    Subclasses change the plan (``_plan``) or the action (``_post``).
    """

    mode = "expert"

    def __init__(self, env: TabletopEnv, seed: int = 0, gain: float = 1.0) -> None:
        self.env = env
        self.rng = np.random.default_rng(seed)
        self.gain = gain
        self.plan: list[Waypoint] = []
        self.index = 0
        self.held = 0
        self.t = 0

    def _plan(self) -> list[Waypoint]:
        return self.env.task.expert_plan()

    def reset(self) -> None:
        self.plan = self._plan()
        self.index, self.held, self.t = 0, 0, 0

    @property
    def done(self) -> bool:
        return self.index >= len(self.plan)

    def _expert_action(self) -> np.ndarray:
        if not self.plan:
            raise RuntimeError("policy.reset() must be called after env.reset() and before act().")
        ee = self.env.robot.ee_pose()[0]
        while not self.done:
            wp = self.plan[self.index]
            err = np.asarray(wp.pos) - ee
            if np.linalg.norm(err) < wp.tol:
                if self.held >= wp.hold:
                    self.index += 1
                    self.held = 0
                    continue
                self.held += 1
            break
        if self.done:
            last = self.plan[-1]
            return np.array([0.0, 0.0, 0.0, last.grip])
        wp = self.plan[self.index]
        move = self.gain * (np.asarray(wp.pos) - ee) / self.env.max_step
        norm = np.max(np.abs(move))
        if norm > wp.speed:
            move = move * (wp.speed / norm)
        return np.concatenate([move, [wp.grip]])

    def _post(self, action: np.ndarray) -> np.ndarray:
        return action

    def act(self, obs: object) -> np.ndarray:
        action = self._post(self._expert_action())
        self.t += 1
        return np.clip(action, -1.0, 1.0).astype(np.float32)


class NoisyExpert(WaypointPolicy):
    mode = "noisy_expert"

    def __init__(self, env: TabletopEnv, seed: int = 0, noise: float = 0.35) -> None:
        super().__init__(env, seed)
        self.noise = noise
        self.pause = 0

    def _post(self, action: np.ndarray) -> np.ndarray:
        if self.pause > 0:
            self.pause -= 1
            return np.array([0.0, 0.0, 0.0, action[3]])
        if self.rng.random() < 0.03:
            self.pause = int(self.rng.integers(2, 6))
        out = action.copy()
        out[:3] += self.rng.normal(0, self.noise, 3)
        return out


def _shift(wp: Waypoint, dxy: np.ndarray) -> Waypoint:
    pos = np.asarray(wp.pos, dtype=float).copy()
    pos[:2] += dxy
    pos = np.clip(pos, WORKSPACE_LOW + 0.01, WORKSPACE_HIGH - 0.01)
    return replace(wp, pos=tuple(float(v) for v in pos))


def _random_offset(rng: np.random.Generator, lo: float, hi: float) -> np.ndarray:
    angle = rng.uniform(0, 2 * np.pi)
    return rng.uniform(lo, hi) * np.array([np.cos(angle), np.sin(angle)])


class MissedGrasp(WaypointPolicy):
    mode = "missed_grasp"

    def _plan(self) -> list[Waypoint]:
        plan = super()._plan()
        task = self.env.task.name
        off = _random_offset(self.rng, 0.04, 0.07)
        tags = {"grasp", "approach"}
        if task == "reach":
            off = _random_offset(self.rng, 0.035, 0.06)
            tags = {"goal"}
        elif task == "push":  # pass beside the cube: shift the push line sideways
            a, b = np.asarray(plan[1].pos[:2]), np.asarray(plan[2].pos[:2])
            u = (b - a) / max(float(np.linalg.norm(b - a)), 1e-9)
            off = np.array([-u[1], u[0]]) * self.rng.choice([-1.0, 1.0]) * self.rng.uniform(0.05, 0.07)
            tags = {"approach", "contact", "goal", "retreat"}
        return [_shift(w, off) if w.tag in tags else w for w in plan]


class WrongTarget(WaypointPolicy):
    mode = "wrong_target"

    def _plan(self) -> list[Waypoint]:
        plan = super()._plan()
        off = _random_offset(self.rng, 0.10, 0.16)
        if self.env.task.name == "drawer":  # pull sideways instead of straight out
            off = np.array([0.06, self.rng.choice([-1.0, 1.0]) * 0.15])
        tags = {"goal", "carry_goal", "release", "retreat"}
        return [_shift(w, off) if w.tag in tags else w for w in plan]


class Wander(WaypointPolicy):
    """Goes purposefully to 2-3 random places anywhere in the workspace, at least 15 cm from every goal waypoint,
    at expert speed, with a random gripper: the far-away arm poses a learner explores (and a reward model must
    score low), which the other failure modes, all near the expert's path, never show."""

    mode = "wander"

    def _plan(self) -> list[Waypoint]:
        goals = [np.asarray(w.pos) for w in super()._plan() if w.tag in ("goal", "carry_goal", "release")]
        low, high = WORKSPACE_LOW + np.array([0.02, 0.02, 0.04]), WORKSPACE_HIGH - 0.02
        out = []
        for _ in range(int(self.rng.integers(2, 4))):
            for _ in range(50):
                pos = self.rng.uniform(low, high)
                if all(np.linalg.norm(pos - g) > 0.15 for g in goals):
                    break
            grip = float(self.rng.choice([-1.0, 1.0]))
            out.append(Waypoint(tuple(float(v) for v in pos), grip, tol=0.02, hold=2, speed=1.0, tag="wander"))
        return out


class NearMiss(WaypointPolicy):
    """The expert with its goal waypoints moved 4-12 cm in a uniformly random 3-D direction and held there for a
    few steps: near misses from every side, the states a reward model must rank below the goal even though the
    arm is close (``missed_grasp`` and ``wrong_target`` only shift sideways)."""

    mode = "near_miss"

    def _plan(self) -> list[Waypoint]:
        plan = super()._plan()
        d = self.rng.normal(size=3)
        off = d / max(float(np.linalg.norm(d)), 1e-9) * self.rng.uniform(0.04, 0.12)
        low, high = WORKSPACE_LOW + np.array([0.01, 0.01, 0.03]), WORKSPACE_HIGH - 0.01
        out = []
        for w in plan:
            if w.tag in ("goal", "carry_goal", "release"):
                pos = np.clip(np.asarray(w.pos, dtype=float) + off, low, high)
                w = replace(w, pos=tuple(float(v) for v in pos), hold=max(w.hold, 5))
            out.append(w)
        return out


class Drop(WaypointPolicy):
    """Opens the gripper while carrying (pick_place/stack), lifts off mid-push (push), lets go mid-pull
    (drawer); for reach, which holds nothing, it hovers 4-7 cm above the target instead."""

    mode = "drop"

    def _plan(self) -> list[Waypoint]:
        plan = super()._plan()
        if self.env.task.name == "reach":
            w = plan[-1]
            return [replace(w, pos=(w.pos[0], w.pos[1], w.pos[2] + float(self.rng.uniform(0.04, 0.07))))]
        return plan

    def reset(self) -> None:
        super().reset()
        carry = [i for i, w in enumerate(self.plan) if w.tag in ("carry", "carry_goal")]
        carry = carry or [i for i, w in enumerate(self.plan) if w.tag == "goal"]
        self.drop_at = int(self.rng.choice(carry)) if carry else len(self.plan)
        self.drop_delay = int(self.rng.integers(0, 4))
        self.dropped_for = 0

    def _post(self, action: np.ndarray) -> np.ndarray:
        if self.index >= self.drop_at:
            self.dropped_for += 1
            if self.dropped_for > self.drop_delay:
                out = action.copy()
                out[3] = -1.0
                if self.env.task.name in ("push", "drawer"):  # let go and back off upwards
                    out[:3] = [0.0, 0.0, 1.0]
                return out
        return action


class StopEarly(WaypointPolicy):
    """Follows the expert for a random 10-75 % of its nominal duration, then holds still."""

    mode = "stop_early"

    def reset(self) -> None:
        super().reset()
        ee = self.env.robot.ee_pose()[0]
        steps, prev = 0.0, ee
        for w in self.plan:
            pos = np.asarray(w.pos)
            steps += float(np.max(np.abs(pos - prev))) / (self.env.max_step * w.speed) + w.hold + 1
            prev = pos
        self.stop_t = max(1, int(self.rng.uniform(0.1, 0.75) * steps))

    def _post(self, action: np.ndarray) -> np.ndarray:
        if self.t >= self.stop_t:
            return np.array([0.0, 0.0, 0.0, action[3]])
        return action


class RandomPolicy:
    """Correlated random actions (Ornstein-Uhlenbeck-like) with occasional gripper toggles."""

    mode = "random"

    def __init__(self, env: TabletopEnv, seed: int = 0) -> None:
        self.env = env
        self.rng = np.random.default_rng(seed)
        self.prev = np.zeros(3)
        self.grip = -1.0

    def reset(self) -> None:
        self.prev = np.zeros(3)
        self.grip = -1.0

    def act(self, obs: object) -> np.ndarray:
        self.prev = 0.7 * self.prev + 0.3 * self.rng.uniform(-1, 1, 3) * 2.0
        if self.rng.random() < 0.1:
            self.grip = -self.grip
        return np.clip(np.concatenate([self.prev, [self.grip]]), -1, 1).astype(np.float32)


_POLICIES: dict[str, type] = {
    "expert": WaypointPolicy, "noisy_expert": NoisyExpert, "missed_grasp": MissedGrasp, "drop": Drop,
    "stop_early": StopEarly, "wrong_target": WrongTarget, "random": RandomPolicy, "wander": Wander,
    "near_miss": NearMiss,
}


def make_policy(env: TabletopEnv, mode: str, seed: int = 0) -> Policy:
    """Build a scripted policy for ``env``. ``mode`` is one of :data:`MODES`."""
    if mode not in _POLICIES:
        raise ValueError(f"unknown policy mode {mode!r}; available: {list(MODES)}.")
    return _POLICIES[mode](env, seed=seed)
