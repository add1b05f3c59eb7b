"""Online fine-tuning over ROS 2: episodes on the arm, shaped reward from the reward node, SAC updates.

Two action spaces (``base_policy``):

* ``none`` -- SAC acts alone in joint space: obs = ``[q (J), progress, step / episode_steps]``, action in
  [-1, 1]^J -> ``q_des = q + action_scale * action``. From a random start it never touches the cube.
* ``weak_push`` -- **residual RL on a weak scripted start** (pick_place-like scenes: red cube, green target).
  At the start of every episode the node finds the cube and the target on the table from the camera images
  (colour centroids unprojected through the calibrated cameras, ``camera_calibration: sim`` = the simulator's
  fixed cameras) and builds a Cartesian push plan (above the point behind the cube, down, push towards the
  target) that deliberately **stops short** after ``stop_fraction`` of the push
  (:class:`robo_reward.real.policies.WeakPushBase`; 0.5 -> the base alone succeeds in ~3 % of sim layouts).
  SAC learns a bounded Cartesian residual (``residual_scale`` m per step and axis, in the push frame by
  default: along the push, to its left, up) added to the base step from the push on (``residual_from_phase``);
  IK turns the sum into arm joint targets (fingers ``finger_opening``), and every command still goes through
  the SafetyFilter. obs = :meth:`robo_reward.real.policies.ResidualPushController.obs` (12,), action (3,).
  Why shaping should help here: finishing the push moves the cube towards the target, which the reward
  node's progress (heuristic: image distance cube -> target) rewards at every step, while the sparse reward
  only fires when the cube ends inside the target region (random residuals get there rarely).

Episode loop (one timer at ``rate_hz``):

1. **reset** -- call ``reset_service`` (std_srvs/Trigger, e.g. the sim arm's ``/sim/reset``); with
   ``reset_service: ""`` wait for an operator to call ``finetune/start_episode`` (Trigger) after resetting the
   arm by hand. Only once the arm reset has completed, call the reward node's ``reward/reset_episode`` (it
   drops frames stamped before it handles the call) and wait ``settle_s`` for fresh inputs. Camera frames
   stamped before the reset completed are never used for the new episode (``weak_push``: the cube and target
   are located in the first frames stamped after it).
2. **run** ``episode_steps`` control steps; actions are uniform random for the first ``warmup_steps``, then
   from the SAC actor. **Credit assignment by camera stamp**: the observation of a step is built from one
   camera frame set (the latest frame per camera, stamped ``T``; for the steps after the first, stamped after
   the previous command was sent) and from the reward node's output for that very set, read from
   ``stamped_topic`` (``reward/stamped``: ``[stamp_sec, stamp_nanosec, progress, shaped, success]``) and
   matched by stamp (:class:`robo_reward.real.finetune.RewardMatcher`). The step waits until that output has
   arrived (at most ``reward_timeout_s``), so the stored transition ``(s, a, r, s')`` gets exactly the shaped
   reward of the frames between ``s`` and ``s'`` (``reward_mode: shaped``) -- not whatever arrived during the
   control period. A step whose reward times out is executed but not stored (``reward_timeouts`` in the log).
   Frame stamps are compared with this node's clock (reset and command times), so cameras must stamp in the
   host's ROS time (as the sim arm and ``realsense2_camera`` do by default), not in a device clock.
   ``sparse``: the reward is 1 when ``success_topic`` says success; success ends the episode
   (terminal); with ``weak_push`` the episode also ends ``end_steps_after_base`` steps after the scripted
   base is done (hand lifted: nothing left for the residual to act on), and steps before the residual acts
   (``residual_from_phase``) are not stored. The sim graph points ``success_topic`` at the ground truth
   ``/sim/success`` for both modes, so the success rate is measured the same way for shaped and sparse.
   While an input is stale or the e-stop is latched the arm holds and the step counter does not advance.
3. **update** -- the arm holds while ``updates_per_step * steps`` SAC gradient steps run (no learning in the
   control loop), then the episode is logged (``episodes.jsonl``, ``success_rate.png``) and a checkpoint is
   written every ``checkpoint_every`` episodes (:class:`robo_reward.real.finetune.RunDir`; survives kill -9).

On start the node resumes from ``run_dir`` when a checkpoint exists; it exits after ``episodes`` episodes.
"""

from __future__ import annotations

import time
from typing import Any, Sequence

import numpy as np
import rclpy
from rclpy.node import Node
from std_msgs.msg import Bool, Float64MultiArray
from std_srvs.srv import Trigger

from robo_reward.real.finetune import RewardMatcher, RunDir, StampedReward, frame_set_stamp
from robo_reward.real.nodes._common import OUTPUT_QOS, declare, stamp_to_ns
from robo_reward.real.heuristic import GREEN, RED
from robo_reward.real.images import MalformedImageError, image_to_rgb
from robo_reward.real.kinematics import panda_ee_position, panda_fk
from robo_reward.real.nodes._control import ControlIO
from robo_reward.real.policies import ResidualPushController, WeakPushBase, locate_on_table, push_orientation
from robo_reward.real.sac import SAC, ReplayBuffer


class FinetuneNode(Node):
    """See module docstring."""

    def __init__(self, node_name: str = "finetune_node", **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        self.run = RunDir(declare(self, "run_dir", "runs/finetune", "checkpoints, replay buffer and logs",
                                  read_only=True))
        self.episodes: int = declare(self, "episodes", 20, "total episodes (including resumed ones)",
                                     int_range=(1, 1_000_000))
        self.episode_steps: int = declare(self, "episode_steps", 40, "control steps per episode",
                                          int_range=(1, 100_000))
        self.reward_mode: str = declare(self, "reward_mode", "shaped", "shaped (reward node) or sparse (success)",
                                        choices=("shaped", "sparse"))
        reset_service = declare(self, "reset_service", "/sim/reset",
                                "Trigger service that resets the arm; empty = wait for finetune/start_episode")
        reward_reset = declare(self, "reward_reset_service", "reward/reset_episode", "reward node's episode reset")
        stamped_topic = declare(self, "stamped_topic", "reward/stamped",
                                "reward node's stamped outputs (std_msgs/Float64MultiArray, see STAMPED_LAYOUT)")
        self.reward_timeout_s: float = declare(self, "reward_timeout_s", 0.5,
                                               "max wait for the reward node's output of a step's frames (s)",
                                               float_range=(0.01, 60.0))
        self.sync_tolerance_ns = int(1e9 * declare(self, "sync_tolerance_s", 0.02,
                                                   "max stamp spread of the latest frames of the cameras (s)",
                                                   float_range=(0.0, 1.0)))
        success_topic = declare(self, "success_topic", "reward/success", "std_msgs/Bool success")
        self.settle_s: float = declare(self, "settle_s", 0.5, "wait after a reset before the episode starts (s)",
                                       float_range=(0.0, 60.0))
        self.action_scale: float = declare(self, "action_scale", 0.05, "rad per unit action per step",
                                           float_range=(1e-4, 1.0))
        self.batch_size: int = declare(self, "batch_size", 64, "SAC batch size", int_range=(1, 8192))
        self.updates_per_step: float = declare(self, "updates_per_step", 1.0, "gradient steps per env step",
                                               float_range=(0.0, 100.0))
        self.warmup_steps: int = declare(self, "warmup_steps", 200, "random-action steps before the actor acts",
                                         int_range=(0, 10_000_000))
        self.reward_scale: float = declare(self, "reward_scale", 1.0,
                                           "reward multiplier for SAC (the log keeps unscaled returns); SAC's "
                                           "entropy bonus starts at alpha=1, so tiny per-step rewards need scaling",
                                           float_range=(1e-6, 1e6))
        capacity = declare(self, "buffer_capacity", 100_000, "replay buffer capacity", int_range=(1, 100_000_000))
        self.checkpoint_every: int = declare(self, "checkpoint_every", 1, "checkpoint every N episodes",
                                             int_range=(1, 100_000))
        hidden = declare(self, "hidden", 128, "SAC hidden layer width", int_range=(4, 4096))
        lr = declare(self, "lr", 3e-4, "SAC learning rate", float_range=(1e-6, 1.0))
        gamma = declare(self, "gamma", 0.99, "SAC discount", float_range=(0.0, 1.0))
        seed = declare(self, "seed", 0, "seed of actor init and exploration", int_range=(0, 2**31 - 1))
        device = declare(self, "device", "auto", "auto, cpu or cuda")
        threads = declare(self, "torch_threads", 1, "CPU threads for SAC updates (small MLPs: 1 is fastest)",
                          int_range=(1, 256))
        self.base_policy: str = declare(self, "base_policy", "none",
                                        "none (SAC in joint space) or weak_push (residual on a weak scripted push)",
                                        choices=("none", "weak_push"))
        self.stop_fraction: float = declare(self, "stop_fraction", 0.5,
                                            "weak_push: fraction of the push the base does before stopping",
                                            float_range=(0.0, 1.5))
        self.residual_scale: float = declare(self, "residual_scale", 0.015,
                                             "weak_push: residual metres per unit action per step",
                                             float_range=(0.0, 0.1))
        self.residual_frame: str = declare(self, "residual_frame", "push",
                                           "weak_push: residual axes: push (along the push, to its left, up) or "
                                           "world (x, y, z)", choices=ResidualPushController.FRAMES)
        self.residual_from_phase: int = declare(self, "residual_from_phase", 2,
                                                "weak_push: base phase from which the residual acts (0 = always, "
                                                "2 = from the push on; the approach stays scripted)",
                                                int_range=(0, WeakPushBase.PHASES - 1))
        self.finger_opening: float = declare(self, "finger_opening", 0.016,
                                             "weak_push: finger joint position while pushing (m per finger; "
                                             "0 = closed; slightly open = two contact points, the cube turns less)",
                                             float_range=(0.0, 0.04))
        self.end_after_base: int = declare(self, "end_steps_after_base", 3,
                                           "weak_push: end the episode this many steps after the base is done "
                                           "(lifted off the cube); 0 = always run episode_steps",
                                           int_range=(0, 100_000))
        calib = declare(self, "camera_calibration", "sim", "weak_push: camera poses (sim = the simulator's cameras)",
                        choices=("sim",))
        self.locate_timeout_s: float = declare(self, "locate_timeout_s", 10.0,
                                               "weak_push: reset again when the cube/target stay unseen this long",
                                               float_range=(0.5, 3600.0))
        self.cam_views: list[str] = list(declare(self, "views", ["front", "side"],
                                                 "weak_push: calibrated view of each entry of image_topics"))
        import torch

        torch.set_num_threads(threads)

        self.io = ControlIO(self, keep_images=True)
        j = len(self.io.limits.joint_names)
        if self.base_policy == "weak_push":
            self._setup_weak_push(calib)
            obs_dim, act_dim = ResidualPushController.OBS_DIM, ResidualPushController.ACT_DIM
        else:
            obs_dim, act_dim = j + 2, j
        self.agent = SAC(obs_dim, act_dim, hidden=hidden, lr=lr, gamma=gamma, device=device, seed=seed)
        self.rng = np.random.default_rng(seed)
        self.episodes_done, self.total_steps = 0, 0
        resumed = self.run.resume(self.agent, capacity, self.rng)
        if resumed is None:
            self.buffer = ReplayBuffer(capacity, obs_dim, act_dim)
            self.get_logger().info(f"new run in {self.run.path}")
        else:
            info, self.buffer = resumed
            self.episodes_done, self.total_steps = info.episodes_done, info.total_steps
            self.get_logger().info(f"resumed from {self.run.path} generation {info.generation}: "
                                   f"episodes_done={info.episodes_done} buffer={self.buffer.size} "
                                   f"steps={info.total_steps}")
        self.reset_client = self.create_client(Trigger, reset_service) if reset_service else None
        self.reward_reset_client = self.create_client(Trigger, reward_reset) if reward_reset else None
        self.create_service(Trigger, "finetune/start_episode", self._on_start_episode)
        self.matcher = RewardMatcher()
        self.create_subscription(Float64MultiArray, stamped_topic, self._on_stamped, OUTPUT_QOS)
        self.create_subscription(Bool, success_topic, self._on_success, OUTPUT_QOS)
        self.finished = self.episodes_done >= self.episodes
        self.state = "reset"
        self._pending: Any = None
        self._operator_go = False
        self._settle_until = 0.0
        self._success, self.progress = False, 0.0
        self._reset_done_ns = 0
        self._reward_future: Any = None
        self._wait: tuple[int, dict[str, Any], float] | None = None
        self.topics: list[str] = list(self.get_parameter("image_topics").value)
        self.create_timer(1.0 / self.io.rate_hz, self._tick)

    def _setup_weak_push(self, calib: str) -> None:
        names = list(self.io.limits.joint_names)
        arm = [f"panda_joint{i}" for i in range(1, 8)]
        if names[:7] != arm:
            raise ValueError(f"base_policy weak_push needs joint_names to start with the Panda arm joints {arm}, got "
                             f"{names}; add panda_finger_joint1/2 after them to close the gripper")
        topics = list(self.get_parameter("image_topics").value)
        if len(topics) != len(self.cam_views):
            raise ValueError(f"parameter 'views' needs one view per image topic ({topics}), got {self.cam_views}")
        from robo_reward.sim.cameras import DEFAULT_CAMERAS  # calib == "sim": the simulator's fixed cameras

        unknown = [v for v in self.cam_views if v not in DEFAULT_CAMERAS]
        if unknown:
            raise ValueError(f"views {unknown} have no {calib!r} calibration; known: {sorted(DEFAULT_CAMERAS)}")
        self.cameras = {v: DEFAULT_CAMERAS[v] for v in self.cam_views}
        self.topic_view = dict(zip(topics, self.cam_views))
        self.controller: ResidualPushController | None = None

    def _images(self, msgs: dict[str, Any] | None = None) -> dict[str, np.ndarray]:
        """Camera frame per calibrated view, (H, W, 3) uint8 RGB, from ``msgs`` (default: the latest ones)."""
        msgs = self.io.images if msgs is None else msgs
        images = {}
        for topic, view in self.topic_view.items():
            msg = msgs.get(topic)
            if msg is not None:
                try:
                    images[view] = image_to_rgb(msg)
                except MalformedImageError:
                    continue
        return images

    def _make_controller(self, msgs: dict[str, Any]) -> ResidualPushController | None:
        """Locate cube and target in the images ``msgs`` and build this episode's weak push; None if not found."""
        images = self._images(msgs)
        cube = locate_on_table(images, self.cameras, RED)
        goal = locate_on_table(images, self.cameras, GREEN, plane_z=0.0)
        if cube is None or goal is None:
            self.get_logger().warning("weak_push: cube or target not visible; holding", throttle_duration_sec=5.0)
            return None
        base = WeakPushBase(cube[:2], goal[:2], stop_fraction=self.stop_fraction)
        rot = push_orientation(base.direction, panda_fk(self.io.joints.q[:7])[:3, :3])
        return ResidualPushController(base, rot, residual_scale=self.residual_scale, frame=self.residual_frame,
                                      from_phase=self.residual_from_phase)

    # ------------------------------------------------------------------ inputs
    def _on_stamped(self, msg: Float64MultiArray) -> None:
        try:
            rec = StampedReward.from_array(msg.data)
        except ValueError as exc:
            self.get_logger().warning(str(exc), throttle_duration_sec=5.0)
            return
        if self.matcher.add(rec) and self.state == "run" and self._wait is not None and rec.stamp_ns >= self._wait[0]:
            self._tick_run()  # the awaited reward: take the step now, not at the next timer tick

    def _frames(self, after_ns: int) -> tuple[int, dict[str, Any]] | None:
        """(stamp, messages) of the latest frame set if it is stamped after ``after_ns``, else None."""
        msgs = dict(self.io.images)
        stamp = frame_set_stamp({t: stamp_to_ns(m.header.stamp) for t, m in msgs.items()}, self.topics,
                                self.sync_tolerance_ns)
        if stamp is None or stamp <= after_ns:
            return None
        return stamp, msgs

    def _on_success(self, msg: Bool) -> None:
        self._success = self._success or bool(msg.data)

    def _on_start_episode(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        self._operator_go = True
        response.success, response.message = True, "episode will start"
        return response

    # ------------------------------------------------------------------ loop
    def _obs(self, msgs: dict[str, Any]) -> np.ndarray:
        if self.base_policy == "weak_push":
            assert self.controller is not None
            cube = locate_on_table(self._images(msgs), self.cameras, RED)
            self.controller.observe_cube(None if cube is None else cube[:2])
            return self.controller.obs(panda_ee_position(self.io.joints.q[:7]), self.progress,
                                       self._step / self.episode_steps)
        return np.concatenate([self.io.joints.q, [self.progress, self._step / self.episode_steps]]).astype(np.float32)

    def _tick(self) -> None:
        if self.finished:
            return
        getattr(self, f"_tick_{self.state}")()

    def _tick_reset(self) -> None:
        # No hold commands while resetting/settling: a hold is "go to the measured q", and joint states still in
        # flight from before the reset would drag a freshly reset arm back to where the last episode ended.
        # A position-controlled arm holds its last target anyway.
        if self._pending is None:
            if self.reset_client is None:
                if not self._operator_go:
                    self.get_logger().info("waiting for finetune/start_episode", throttle_duration_sec=10.0)
                    return
                self._operator_go = False
                self._pending = "reward"
            elif self.reset_client.service_is_ready():
                self._pending = self.reset_client.call_async(Trigger.Request())
            return
        if self._pending not in ("reward", "reward_wait") and not self._pending.done():
            return  # the arm reset is still running
        if self._pending not in ("reward", "reward_wait"):
            self._pending = "reward"
        if self._pending == "reward":
            if self.reward_reset_client is None:
                self._reward_future = None
            elif not self.reward_reset_client.service_is_ready():
                return
            else:
                # only after the arm reset completed: the reward node drops frames stamped before it handles this
                self._reward_future = self.reward_reset_client.call_async(Trigger.Request())
            self._pending = "reward_wait"
        if self._reward_future is not None and not self._reward_future.done():
            return
        # arm and reward node are reset: frames stamped up to now may show the old scene or be scored in the old
        # episode's context, so the new episode uses only frames (and reward outputs) stamped after this moment
        self._reset_done_ns = self.get_clock().now().nanoseconds
        self.matcher.begin_episode(self._reset_done_ns)
        self._pending = None
        self._settle_until = time.monotonic() + self.settle_s
        self.state = "settle"

    def _tick_settle(self) -> None:
        if time.monotonic() < self._settle_until or not self.io.inputs_ok():
            return
        frames = self._frames(self._reset_done_ns)
        if frames is None:
            if time.monotonic() > self._settle_until + self.locate_timeout_s:
                self.get_logger().warning(f"no camera frames stamped after the reset for {self.locate_timeout_s} s; "
                                          "resetting again")
                self.state = "reset"
            return
        if self.base_policy == "weak_push":
            self.controller = self._make_controller(frames[1])
            if self.controller is None:
                if time.monotonic() > self._settle_until + self.locate_timeout_s:
                    self.get_logger().warning(f"weak_push: cube/target not found for {self.locate_timeout_s} s "
                                              "after the reset; resetting again")
                    self.state = "reset"
                return
        self._step, self._ret, self._max_prog, self._t_ep = 0, 0.0, 0.0, time.monotonic()
        self._prev: tuple[np.ndarray, np.ndarray, bool] | None = None
        self._prev_set: StampedReward | None = None
        self._last_cmd_ns = self._reset_done_ns
        self._wait = None
        self._done_steps, self._timeouts = 0, 0
        self._success = False
        self.state = "run"

    def _tick_run(self) -> None:
        if not self.io.inputs_ok():
            self.io.command(None)  # hold; the step counter waits
            return
        if self._wait is None:
            # the frames of this step's observation: the first set stamped after the previous command was sent
            frames = self._frames(self._last_cmd_ns)
            if frames is None:
                return
            self._wait = (frames[0], frames[1], time.monotonic())
        stamp, msgs, t_wait = self._wait
        matched = self.matcher.step_reward(self._prev_set, stamp)
        if matched is None and time.monotonic() - t_wait < self.reward_timeout_s:
            return  # the reward node's output for these frames is not in yet
        self._wait = None
        timed_out = matched is None
        if matched is not None:
            shaped, self._prev_set = matched
            self.progress = self._prev_set.progress
        else:
            shaped = 0.0
            self._timeouts += 1
            self.get_logger().warning(f"no reward for the frames stamped {stamp} ns within {self.reward_timeout_s} s; "
                                      "the step is not stored", throttle_duration_sec=5.0)
        obs = self._obs(msgs)
        self._max_prog = max(self._max_prog, self.progress)
        if self._prev is not None:
            r = shaped if self.reward_mode == "shaped" else float(self._success)
            if self._prev[2] and not timed_out:
                self.buffer.add(self._prev[0], self._prev[1], self.reward_scale * r, obs, self._success)
            self._ret += r
            self.total_steps += 1
            if self._success or self._step >= self.episode_steps or self._base_finished():
                self.io.command(None)
                self._end_episode()
                return
        if self.total_steps < self.warmup_steps:
            action = self.rng.uniform(-1.0, 1.0, self.agent.act_dim)
        else:
            action = self.agent.act(obs)
        self.io.command(self._q_des(action))
        self._last_cmd_ns = self.get_clock().now().nanoseconds
        # weak_push: a step whose residual was not applied (the scripted approach) is not a transition of the
        # learner's decision process, so it is not stored
        applied = self.controller.applied if self.base_policy == "weak_push" and self.controller else True
        self._prev = (obs, action.astype(np.float32), applied)
        self._step += 1

    def _base_finished(self) -> bool:
        """weak_push: the base has been done (phase 4, hand lifted) for ``end_steps_after_base`` steps."""
        if self.base_policy != "weak_push" or self.controller is None or self.end_after_base == 0:
            return False
        if self.controller.base.index >= WeakPushBase.PHASES - 1:
            self._done_steps += 1
        return self._done_steps >= self.end_after_base

    def _q_des(self, action: np.ndarray) -> np.ndarray:
        """Joint targets (J,) for ``action``: a joint delta, or the weak push plus the Cartesian residual."""
        q = self.io.joints.q
        if self.base_policy == "none":
            return q + self.action_scale * action
        assert self.controller is not None
        q_des = q.copy()
        q_des[:7], _ = self.controller.target(q[:7], action)
        q_des[7:] = self.finger_opening  # push with the fingertips
        return q_des

    def _base_log(self) -> dict[str, Any]:
        """weak_push: the episode's estimates and where the hand ended (for the log line)."""
        if self.base_policy != "weak_push" or self.controller is None:
            return {}
        b = self.controller.base
        return {"cube_xy": b.cube.round(4).tolist(), "goal_xy": b.goal.round(4).tolist(),
                "base_phase": round(b.phase, 3),
                "final_ee": panda_ee_position(self.io.joints.q[:7]).round(4).tolist()}

    def _end_episode(self) -> None:
        t_update = time.monotonic()
        n_updates = int(round(self.updates_per_step * self._step)) if self.buffer.size >= self.batch_size else 0
        losses: dict[str, float] = {}
        for _ in range(n_updates):
            losses = self.agent.update(self.buffer.sample(self.batch_size, self.rng))
        row = {"episode": self.episodes_done, "steps": self._step, "return": round(self._ret, 5),
               "success": bool(self._success), "final_progress": round(self.progress, 4),
               "max_progress": round(self._max_prog, 4), "buffer_size": self.buffer.size,
               "total_steps": self.total_steps, "updates": self.agent.updates, "reward_mode": self.reward_mode,
               "base_policy": self.base_policy, "reward_timeouts": self._timeouts,
               "episode_s": round(t_update - self._t_ep, 3), "update_s": round(time.monotonic() - t_update, 3),
               **{k: round(v, 5) for k, v in losses.items()}, **self._base_log()}
        self.run.append_log(row)
        self.episodes_done += 1
        if self.episodes_done % self.checkpoint_every == 0 or self.episodes_done >= self.episodes:
            gen = self.run.save(self.agent, self.buffer, self.episodes_done, self.total_steps, self.rng)
            self.get_logger().info(f"checkpoint generation {gen} after episode {row['episode']}")
        self.run.plot()
        self.get_logger().info(f"episode {row['episode']}: return={row['return']} success={row['success']} "
                               f"max_progress={row['max_progress']} buffer={self.buffer.size}")
        self.finished = self.episodes_done >= self.episodes
        self.state = "reset"


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point: ``robo-reward-finetune-node --ros-args -p run_dir:=runs/ft -p episodes:=50``.

    Exits 0 after the configured number of episodes.
    """
    from rclpy.executors import ExternalShutdownException

    rclpy.init(args=list(argv) if argv is not None else None)
    node: FinetuneNode | None = None
    try:
        node = FinetuneNode()
        while rclpy.ok() and not node.finished:
            rclpy.spin_once(node, timeout_sec=0.1)
        return 0
    except (KeyboardInterrupt, ExternalShutdownException):
        return 0
    except ValueError as exc:
        import logging

        logging.getLogger("robo_reward.real").error("%s", exc)
        return 1
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    raise SystemExit(main())
