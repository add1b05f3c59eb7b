"""Helper for test_distributed: train the tiny synthetic model (no dropout) and dump the loss history (rank 0)."""

import json
import sys

import torch

from robo_reward.reward.model import RewardModelConfig
from robo_reward.reward.synthetic import make_synthetic_episodes
from robo_reward.reward.trainer import DistInfo, LoopConfig, train_hop_model


def main(out: str, ckpt_dir: str | None = None, limit: int | None = None) -> None:
    torch.set_num_threads(1)
    eps, texts = make_synthetic_episodes(("a",), {"success": 4, "failure": 2}, seed=0)
    cfg = RewardModelConfig(hidden=32, heads=4, layers=1, num_bins=11, dropout=0.0)
    _, hist = train_hop_model(eps, texts, ("front", "side", "wrist"), cfg,
                              LoopConfig(steps=30, batch_size=32, lr=3e-3, log_every=5, checkpoint_every=100, max_steps_this_run=limit),
                              out_dir=ckpt_dir, progress_bar=False)
    if DistInfo.from_env().is_main:
        with open(out, "w") as f:
            json.dump([h["loss"] for h in hist], f)
    if torch.distributed.is_initialized():
        torch.distributed.barrier()  # no rank tears down its gloo connections while another still uses them
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None, int(sys.argv[3]) if len(sys.argv) > 3 else None)
