"""Configuration of policy training (``configs/train.yaml`` + groups ``algo/`` and ``shaping/``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from robo_reward.shaping.config import ChoiceEnum, ShapingConfig

logger = logging.getLogger(__name__)


class AlgoName(ChoiceEnum):
    sac = "sac"
    ppo = "ppo"


class RewardSource(ChoiceEnum):
    sparse = "sparse"  # 1.0 on env success, else 0
    expert = "expert"  # the env's hand-written dense reward
    learned = "learned"  # reward model + shaping


@dataclass
class AlgoConfig:
    """SB3 learner hyper-parameters (``configs/algo/sac.yaml`` / ``ppo.yaml``); fields of the other algo are ignored."""

    name: AlgoName = AlgoName.sac
    """sac | ppo"""
    gamma: float = 0.99
    """discount; PBRS uses it too unless shaping.gamma is set"""
    learning_rate: float = 3e-4
    """Adam learning rate"""
    batch_size: int = 256
    """minibatch size"""
    net_arch: list[int] = field(default_factory=lambda: [256, 256])
    """hidden layer sizes of actor and critic"""
    ent_coef: str = "auto"
    """SAC: "auto" or a number; PPO: a number ("auto" means 0.0)"""
    # --- SAC
    buffer_size: int = 1_000_000
    """SAC replay buffer capacity (transitions)"""
    learning_starts: int = 1000
    """SAC: env steps of random actions before learning"""
    train_freq: int = 1
    """SAC: env steps (per env) between updates"""
    gradient_steps: int = 1
    """SAC: gradient steps per update"""
    tau: float = 0.005
    """SAC: target network Polyak coefficient"""
    # --- PPO
    n_steps: int = 2048
    """PPO: rollout length per env"""
    n_epochs: int = 10
    """PPO: epochs per rollout"""
    gae_lambda: float = 0.95
    """PPO: GAE lambda"""
    clip_range: float = 0.2
    """PPO: clip range"""

    def __post_init__(self) -> None:
        self.name = AlgoName(self.name)
        errors = []
        if not 0.0 < self.gamma <= 1.0:
            errors.append(f"gamma must be in (0, 1], got {self.gamma}")
        if self.ent_coef != "auto" and not self.ent_coef.startswith("auto_"):
            try:
                float(self.ent_coef)
            except ValueError:
                errors.append(f"ent_coef must be 'auto', 'auto_<init>' or a number, got {self.ent_coef!r}")
        for name in ("learning_rate", "batch_size", "buffer_size", "train_freq", "n_steps", "n_epochs"):
            if getattr(self, name) <= 0:
                errors.append(f"{name} must be > 0, got {getattr(self, name)}")
        if errors:
            raise ValueError("AlgoConfig: " + "; ".join(errors) + ". Fix configs/algo/*.yaml or the override.")


@dataclass
class TrainConfig:
    """``robo-reward train task=pick_place reward=learned shaping=pbrs algo=sac seed=0``."""

    task: str = "reach"
    """sim task name (robo_reward.sim.make_env)"""
    reward: RewardSource = RewardSource.expert
    """sparse | expert | learned"""
    shaping: ShapingConfig = field(default_factory=ShapingConfig)
    """shaping of the learned reward (configs/shaping/)"""
    algo: AlgoConfig = field(default_factory=AlgoConfig)
    """learner (configs/algo/)"""
    reward_model_dir: str | None = None
    """reward=learned: a reward-model directory (robo_reward.reward.pipeline.load_reward_model) or "oracle"
    (true progress)"""
    seed: int = 0
    """seed of envs, learner and evaluation"""
    total_steps: int = 100_000
    """env steps (summed over envs)"""
    num_envs: int = 1
    """parallel envs (DummyVecEnv, or SubprocVecEnv with ``subproc``)"""
    subproc: bool = False
    """step and render the envs in worker processes (SB3 SubprocVecEnv): rendering then overlaps with the reward
    model and the learner; worth it only with num_envs >= 2 and a spare core"""
    max_episode_steps: int | None = None
    """time limit; None = the task's own"""
    views: list[str] = field(default_factory=lambda: ["front"])
    """camera views rendered for the reward model and the video"""
    image_size: int = 96
    """rendered view size (pixels, square)"""
    reward_every: int = 1
    """query the reward model every k vec steps (and at episode ends); hold Phi in between"""
    reward_fusion: str = "markov"
    """progress estimate of a trained reward model: "markov" (mean of the forward and backward estimates of the
    current frames: a function of the state, as potential-based shaping requires) or "guarded" (the fused,
    history-smoothed estimate used to score whole episodes)"""
    demo_steps: int = 0
    """SAC: env steps at the start driven by the task's scripted expert instead of the learner (they replace the
    random warm-up and count towards total_steps); every reward sees the same demos (0 = off)"""
    demo_noise: float = 0.1
    """std of the Gaussian noise on the expert's xyz actions during demo steps (action units)"""
    normalize: bool = True
    """wrap in VecNormalize (observations and rewards); without it SAC barely learns the sim tasks' state
    observations (reach, expert reward, 10k steps: 0.87 success with, 0.0-0.13 without)"""
    eval_every: int = 10_000
    """env steps between periodic evaluations (0 = off)"""
    eval_episodes: int = 50
    """episodes per periodic evaluation (a success rate over 10 episodes has a standard error of up to 0.16, too
    coarse to read steps-to-80 % from; 50 state-only episodes take ~6 s on reach)"""
    final_eval_episodes: int = 50
    """episodes of the final evaluation (0 = skip)"""
    near_goal: float = 0.8
    """true progress above which a not-yet-successful step counts as hovering (semantic-trap measure)"""
    checkpoint_every: int = 25_000
    """env steps between checkpoints (0 = final checkpoint only)"""
    resume: bool = False
    """continue from the newest checkpoint in output_dir"""
    output_dir: str = "runs/train"
    """run directory: checkpoints/, eval/, tb/, video.mp4, results.json"""
    tensorboard: bool = True
    """log to output_dir/tb"""
    progress_bar: bool = True
    """SB3 progress bar (tqdm + rich)"""
    video: bool = True
    """write a rollout video with the progress curve at the end"""
    video_max_steps: int = 300
    """cap on the video episode length"""
    device: str = "auto"
    """torch device of learner and reward model ("auto" = CUDA when present)"""
    torch_threads: int = 0
    """torch CPU threads (0 = torch's default); 1 is much faster for small MLPs on a busy CPU"""
    verbose: int = 0
    """SB3 verbosity"""

    def __post_init__(self) -> None:
        self.reward = RewardSource(self.reward)
        errors = []
        if self.reward is RewardSource.learned and not self.reward_model_dir:
            errors.append("reward=learned needs reward_model_dir=<dir of a trained reward model> or "
                          "reward_model_dir=oracle")
        for name in ("total_steps", "num_envs", "image_size", "reward_every"):
            if getattr(self, name) < 1:
                errors.append(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("torch_threads", "eval_every", "eval_episodes", "final_eval_episodes", "checkpoint_every"):
            if getattr(self, name) < 0:
                errors.append(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.reward_fusion not in ("markov", "guarded"):
            errors.append(f"reward_fusion must be 'markov' or 'guarded', got {self.reward_fusion!r}")
        if self.demo_steps < 0 or self.demo_steps > self.total_steps:
            errors.append(f"demo_steps must be in 0..total_steps ({self.total_steps}), got {self.demo_steps}")
        if self.demo_steps and self.algo.name is not AlgoName.sac:
            errors.append("demo_steps > 0 needs algo=sac (PPO learns on-policy and cannot use expert transitions)")
        if self.demo_noise < 0:
            errors.append(f"demo_noise must be >= 0, got {self.demo_noise}")
        if self.max_episode_steps is not None and self.max_episode_steps < 1:
            errors.append(f"max_episode_steps must be >= 1 or null, got {self.max_episode_steps}")
        if not self.views:
            errors.append("views must name at least one camera view")
        if errors:
            raise ValueError("TrainConfig: " + "; ".join(errors) + ".")
