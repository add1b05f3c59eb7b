"""Policy learning with learned rewards: env/VecEnv reward wrappers, SB3 training entry point, oracle model."""

from robo_reward.rl.config import AlgoConfig, AlgoName, RewardSource, TrainConfig

__all__ = ["AlgoConfig", "AlgoName", "RewardSource", "TrainConfig", "run"]


def run(cfg: TrainConfig, **kwargs):  # type: ignore[no-untyped-def]
    """See :func:`robo_reward.rl.train.run` (imported lazily so that importing the package stays cheap)."""
    from robo_reward.rl.train import run as _run

    return _run(cfg, **kwargs)
