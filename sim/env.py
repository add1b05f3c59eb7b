"""TabletopEnv: a gymnasium env with a Franka Panda, one task and any number of camera views."""

from __future__ import annotations

import logging
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import pybullet as p
from gymnasium import spaces

from robo_reward.sim.cameras import DEFAULT_CAMERAS, CameraSpec, Lighting, check_views, render
from robo_reward.sim.randomization import MAX_DISTRACTORS, RandomizationConfig, apply, create_distractors
from robo_reward.sim.robot import FINGER_MAX, JOINT_NAMES, PandaRobot, RenderQuality
from robo_reward.sim.tasks import TASKS, make_task
from robo_reward.sim.tasks.base import Task, make_box

logger = logging.getLogger(__name__)

ObsMode = Literal["state", "rgb", "rgbd"]
PHYSICS_HZ = 240
#: Reachable box for the grasp point (m): x, y, z bounds.
WORKSPACE_LOW = np.array([0.25, -0.35, 0.008])
WORKSPACE_HIGH = np.array([0.80, 0.35, 0.45])
PROPRIO_NAMES = ["ee_x", "ee_y", "ee_z", "gripper_width"] + [f"q{i}" for i in range(1, 8)]


class TabletopEnv(gym.Env):
    """Franka Panda on a table with one task, in PyBullet DIRECT mode.

    Action: Box(-1, 1, (4,)) = [dx, dy, dz, grip]; the xyz part times ``max_step`` (m) moves the grasp-point
    target (solved with IK, fixed downward orientation); grip maps linearly to the finger opening
    (-1 = open 8 cm, 1 = closed).
    Observation: ``obs_mode="state"`` -> (11 + task,) float32 = [ee xyz, gripper width, 7 arm joints, task state];
    ``"rgb"``/``"rgbd"`` -> Dict(state=..., <view>=(S, S, 3) uint8[, <view>_depth=(S, S, 1) float32 m]).
    Reward: the task's dense expert reward. ``info``: success, stage, stage_index, expert_reward.
    Same seed -> identical states: every reset restores a snapshot taken right after the scene was built.

    Args:
        task: task name (see ``robo_reward.sim.tasks.TASKS``).
        obs_mode: "state", "rgb" or "rgbd". Images are rendered only in the image modes or on request.
        views: camera views used for image observations and :meth:`render_views`.
        image_size: square image side in pixels.
        render_quality: "full" (detailed Panda meshes) or "fast" (collision meshes, ~10x cheaper per view).
        control_hz: control steps per simulated second (physics runs at 240 Hz).
        max_step: metres moved per unit action per control step.
        max_episode_steps: truncation horizon; default from the task.
        terminate_on_success: end the episode when the success predicate holds.
        randomization: appearance randomisation (off by default).
    """

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, task: str | Task, obs_mode: ObsMode = "state",
                 views: tuple[str, ...] | list[str] = ("front", "side", "wrist"), image_size: int = 96,
                 render_quality: RenderQuality = "full", control_hz: int = 10, max_step: float = 0.03,
                 max_episode_steps: int | None = None, terminate_on_success: bool = True,
                 randomization: RandomizationConfig | None = None, render_mode: str | None = None) -> None:
        if obs_mode not in ("state", "rgb", "rgbd"):
            raise ValueError(f"obs_mode must be 'state', 'rgb' or 'rgbd', got {obs_mode!r}.")
        if not isinstance(image_size, int) or not 16 <= image_size <= 1024:
            raise ValueError(f"image_size must be an int in 16..1024 (pixels), got {image_size!r}.")
        if control_hz <= 0 or PHYSICS_HZ % control_hz != 0:
            raise ValueError(f"control_hz must divide {PHYSICS_HZ} (e.g. 5, 10, 20), got {control_hz}.")
        if max_step <= 0:
            raise ValueError(f"max_step must be > 0 metres, got {max_step}.")
        self.views = check_views(views)
        if obs_mode != "state" and not self.views:
            raise ValueError(f"obs_mode={obs_mode!r} needs at least one view; pass views=('front',) or similar.")
        self.obs_mode = obs_mode
        self.image_size = image_size
        self.render_quality = render_quality
        self.control_hz = control_hz
        self.max_step = max_step
        self.terminate_on_success = terminate_on_success
        self.randomization = randomization or RandomizationConfig()
        self.render_mode = render_mode
        self.task = make_task(task) if isinstance(task, str) else task
        self._max_steps = max_episode_steps or self.task.max_episode_steps
        self._substeps = PHYSICS_HZ // control_hz

        self.client = p.connect(p.DIRECT)
        self._build_world()
        # The first reset uses this world as built: nothing has stepped it yet, so it equals a rebuilt one and
        # the rebuild (10-47 ms) is skipped once per env.
        self._pristine = True

        self.cameras: dict[str, CameraSpec] = dict(DEFAULT_CAMERAS)
        self.lighting = Lighting()
        self._target = np.zeros(3)
        self._elapsed = 0
        self._last_info: dict[str, Any] = {}

        n_state = len(PROPRIO_NAMES) + len(self.task.state_names)
        state_space = spaces.Box(-np.inf, np.inf, (n_state,), np.float32)
        if obs_mode == "state":
            self.observation_space: spaces.Space = state_space
        else:
            sub: dict[str, spaces.Space] = {"state": state_space}
            for v in self.views:
                sub[v] = spaces.Box(0, 255, (image_size, image_size, 3), np.uint8)
                if obs_mode == "rgbd":
                    sub[f"{v}_depth"] = spaces.Box(0.0, np.inf, (image_size, image_size, 1), np.float32)
            self.observation_space = spaces.Dict(sub)
        self.action_space = spaces.Box(-1.0, 1.0, (4,), np.float32)

    def _build_world(self) -> None:
        """Create the scene (table, Panda at home, the task's bodies, distractors) in the empty world of
        ``self.client``: at construction and at every :meth:`reset`. Body ids come out the same every time."""
        p.setGravity(0, 0, -9.81, physicsClientId=self.client)
        p.setPhysicsEngineParameter(fixedTimeStep=1.0 / PHYSICS_HZ, deterministicOverlappingPairs=1,
                                    physicsClientId=self.client)
        self.table = make_box(self.client, (0.525, 0.5, 0.02), (0.62, 0.52, 0.4, 1.0), mass=0.0,
                              pos=(0.425, 0.0, -0.02), friction=0.8)
        self.robot = PandaRobot(self.client, self.render_quality)
        self.robot.reset()
        self.task.build(self.client, self.robot)
        self._colored = self.task.colored_bodies()
        self._distractors = create_distractors(self.client, min(self.randomization.distractors, MAX_DISTRACTORS))

    # ------------------------------------------------------------ properties
    @property
    def task_name(self) -> str:
        return self.task.name

    @property
    def instruction(self) -> str:
        return self.task.instruction

    @property
    def stage_names(self) -> tuple[str, ...]:
        return self.task.stage_names

    @property
    def fps(self) -> float:
        return float(self.control_hz)

    @property
    def max_episode_steps(self) -> int:
        return self._max_steps

    @property
    def joint_names(self) -> tuple[str, ...]:
        return JOINT_NAMES

    @property
    def state_names(self) -> list[str]:
        return PROPRIO_NAMES + self.task.state_names

    @property
    def elapsed_steps(self) -> int:
        return self._elapsed

    # ------------------------------------------------------------ gym API
    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        # Independent streams: the task layout never depends on whether randomisation is on.
        ss = np.random.SeedSequence(int(self.np_random.integers(0, 2**63 - 1)))
        task_rng, rand_rng = (np.random.default_rng(s) for s in ss.spawn(2))
        # A new world every episode, so that an episode depends on its seed only. restoreState of a saved world
        # (the earlier reset) left solver caches behind: the same seed run twice in a row in one world gave two
        # different stack trajectories, and recordings depended on which episodes a worker had simulated before.
        # Rebuilding costs ~10 ms with the "fast" meshes and ~47 ms with the detailed Panda meshes (a reset every
        # 50-step episode: a few per cent of an RL run, whose learner updates take ~14 ms per step).
        if not self._pristine:
            p.resetSimulation(physicsClientId=self.client)
            self._build_world()
        self._pristine = False
        self.task.reset(task_rng)
        self.lighting, self.cameras = apply(self.randomization, rand_rng, self.client, self.table, self._colored,
                                            self._distractors, dict(DEFAULT_CAMERAS))
        for _ in range(10):  # let objects settle on the table
            p.stepSimulation(physicsClientId=self.client)
        self._target = self.robot.ee_pose()[0]
        self._elapsed = 0
        info = self._info()
        return self._obs(), info

    def step(self, action: np.ndarray) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        a = np.asarray(action, dtype=np.float64).reshape(-1)
        if a.shape != (4,):
            raise ValueError(f"action must have shape (4,) = [dx, dy, dz, grip], got {np.shape(action)}.")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"action contains NaN/inf: {a}.")
        a = np.clip(a, -1.0, 1.0)
        ee = self.robot.ee_pose()[0]
        lim = 1.5 * self.max_step  # anti wind-up: the target never runs far ahead of the hand
        self._target = np.clip(self._target + a[:3] * self.max_step, ee - lim, ee + lim)
        self._target = np.clip(self._target, WORKSPACE_LOW, WORKSPACE_HIGH)
        finger = FINGER_MAX * (1.0 - a[3]) / 2.0
        q = np.concatenate([self.robot.ik(self._target), [finger, finger]])
        self._advance(q)
        info = self._info()
        terminated = bool(info["success"] and self.terminate_on_success)
        truncated = self._elapsed >= self._max_steps and not terminated
        return self._obs(), float(info["expert_reward"]), terminated, truncated, info

    def step_joint_targets(self, q_target: np.ndarray) -> dict[str, Any]:
        """Advance one control step with joint position targets (9,) = 7 arm joints (rad) + 2 fingers (m).

        Returns the same info dict as :meth:`step`.
        """
        q = np.asarray(q_target, dtype=np.float64).reshape(-1)
        if q.shape != (9,):
            raise ValueError(f"q_target must have shape (9,) (order: {list(JOINT_NAMES)}), got {np.shape(q_target)}.")
        q[7:] = np.clip(q[7:], 0.0, FINGER_MAX)
        self._advance(q)
        self._target = self.robot.ee_pose()[0]
        return self._info()

    def get_joint_state(self) -> tuple[np.ndarray, np.ndarray]:
        """(q, dq), each (9,) float64 in the order of :attr:`joint_names`."""
        return self.robot.joint_state()

    def render(self) -> np.ndarray | None:  # gymnasium API: first view
        if self.render_mode != "rgb_array":
            return None
        return self.render_views(self.views[:1] or ("front",))[self.views[0] if self.views else "front"]

    def render_views(self, views: tuple[str, ...] | list[str] | None = None, size: int | None = None
                     ) -> dict[str, np.ndarray]:
        """Render RGB images: view -> (S, S, 3) uint8 (default: the env's views at ``image_size``)."""
        views = self.views if views is None else check_views(views)
        return {v: self._render(v, size or self.image_size, depth=False)[0] for v in views}

    def close(self) -> None:
        if self.client >= 0:
            try:
                p.disconnect(physicsClientId=self.client)
            except p.error:  # already disconnected
                pass
            self.client = -1

    def state(self) -> np.ndarray:
        """Current state vector (len(state_names),) float32."""
        q, _ = self.robot.joint_state()
        ee = self.robot.ee_pose()[0]
        proprio = np.concatenate([ee, [q[7] + q[8]], q[:7]])
        return np.concatenate([proprio, self.task.object_state()]).astype(np.float32)

    # ------------------------------------------------------------ internals
    def _advance(self, q: np.ndarray) -> None:
        self.robot.set_joint_targets(q)
        for _ in range(self._substeps):
            p.stepSimulation(physicsClientId=self.client)
        self._elapsed += 1

    def _info(self) -> dict[str, Any]:
        idx = self.task.stage_index()
        return {"success": bool(self.task.success()), "stage": self.task.stage_names[idx], "stage_index": idx,
                "expert_reward": float(self.task.expert_reward())}

    def _render(self, view: str, size: int, depth: bool) -> tuple[np.ndarray, np.ndarray | None]:
        spec = self.cameras[view]
        mount = self.robot.ee_pose() if spec.mount == "hand" else None
        return render(self.client, spec, size, self.lighting, mount, depth)

    def _obs(self) -> Any:
        state = self.state()
        if self.obs_mode == "state":
            return state
        obs: dict[str, np.ndarray] = {"state": state}
        for v in self.views:
            rgb, depth = self._render(v, self.image_size, self.obs_mode == "rgbd")
            obs[v] = rgb
            if depth is not None:
                obs[f"{v}_depth"] = depth[..., None]
        return obs


def make_env(task: str, **kwargs: Any) -> TabletopEnv:
    """Build a :class:`TabletopEnv` for ``task`` (one of ``robo_reward.sim.tasks.TASKS``)."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; available: {sorted(TASKS)}.")
    return TabletopEnv(task, **kwargs)
