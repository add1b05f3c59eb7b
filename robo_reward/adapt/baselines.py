"""Goal-embedding-distance baseline (VIP-style): progress = 1 - d(e_t, e_goal) / d(e_0, e_goal).

``e_goal`` is the demo's last frame, ``e_0`` the scored episode's own first frame, ``d`` the cosine distance
(Euclidean distance of L2-normalised embeddings). Views are averaged.
"""

from __future__ import annotations

import numpy as np

from robo_reward.types import ProgressOutput

import torch


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-8)


class GoalDistanceBaseline:
    """Progress from the distance to the demo's goal embedding, one goal per view."""

    def __init__(self, goals: dict[str, np.ndarray]) -> None:
        """goals: view -> (D,) embedding of the demo's last frame."""
        if not goals:
            raise ValueError("GoalDistanceBaseline: need a goal embedding for at least one view")
        self.goals = {v: _unit(np.asarray(g, dtype=np.float64)) for v, g in goals.items()}

    @classmethod
    def from_demo(cls, demo_embeddings: dict[str, np.ndarray], goal_frames: int = 1) -> "GoalDistanceBaseline":
        """demo_embeddings: view -> (T, D); the goal is the mean of the last ``goal_frames`` frames."""
        return cls({v: np.asarray(e)[-goal_frames:].mean(0) for v, e in demo_embeddings.items()})

    def progress_per_view(self, view: str, emb: np.ndarray) -> np.ndarray:
        """(T, D) embeddings of one episode view -> (T,) progress in [0, 1]."""
        d = np.linalg.norm(_unit(np.asarray(emb, dtype=np.float64)) - self.goals[view], axis=-1)
        d0 = max(float(d[0]), 1e-8)
        return np.clip(1.0 - d / d0, 0.0, 1.0)

    def score(self, embeddings: dict[str, np.ndarray]) -> ProgressOutput:
        """embeddings: view -> (T, D) for one episode (frame 0 = its start).  Returns (T,) tensors."""
        per_view = np.stack([self.progress_per_view(v, e) for v, e in embeddings.items()])
        p = torch.from_numpy(per_view.mean(0).astype(np.float32))
        return ProgressOutput(progress=p, success_prob=p.clone(), uncertainty=torch.from_numpy(per_view.std(0).astype(np.float32)))
