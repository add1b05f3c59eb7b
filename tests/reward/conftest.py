"""Shared fixtures: a tiny synthetic dataset and a hop model trained on it for a few hundred steps (~seconds)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from robo_reward.reward.data import Reference  # noqa: E402
from robo_reward.reward.model import RewardModelConfig  # noqa: E402
from robo_reward.reward.scoring import ProgressScorer  # noqa: E402
from robo_reward.reward.synthetic import SyntheticSpec, make_synthetic_episodes  # noqa: E402
from robo_reward.reward.trainer import LoopConfig, train_hop_model  # noqa: E402

VIEWS = ("front", "side", "wrist")


@pytest.fixture(scope="session")
def synth():
    spec = SyntheticSpec()
    train, texts = make_synthetic_episodes(("a", "b"), {"success": 6, "partial": 2, "failure": 2}, spec, seed=0)
    test, _ = make_synthetic_episodes(("a", "b"), {"success": 3, "partial": 1, "failure": 1}, spec, seed=1)
    return train, test, texts


@pytest.fixture(scope="session")
def trained(synth):
    train, _, texts = synth
    torch.set_num_threads(1)
    cfg = RewardModelConfig(hidden=48, heads=4, layers=1, num_bins=21)
    model, hist = train_hop_model(train, texts, VIEWS, cfg, LoopConfig(steps=200, batch_size=48, lr=3e-3, log_every=50),
                                  progress_bar=False)
    return model, hist


@pytest.fixture(scope="session")
def scorer(trained):
    return ProgressScorer(trained[0])


@pytest.fixture(scope="session")
def refs(synth):
    train, _, texts = synth
    return {t: Reference.from_episode(next(e for e in train if e.task == t and e.outcome == "success"), texts[t])
            for t in texts}


def rng_emb(t: int, d: int, views=VIEWS, seed: int = 0) -> dict[str, np.ndarray]:
    r = np.random.default_rng(seed)
    return {v: r.normal(size=(t, d)).astype(np.float32) for v in views}
