"""Few-shot reward adaptation from one demonstration video: ``robo-reward adapt`` / ``robo-reward score``.

Modules: ``demo_video`` (read per-view videos), ``segment`` (stage discovery, keyframes, progress labels),
``augment`` + ``embed`` (frozen embeddings with domain jitter), ``model`` + ``fit`` (per-view heads),
``reward_dir`` (the self-contained output directory), ``baselines`` (goal-distance baseline),
``pipeline`` (configs and run functions), ``cli`` (argparse mains). Importing this package does no work.
"""

from robo_reward.adapt.errors import InputError

__all__ = ["InputError"]
