"""Contact sheets: a grid of frames (rows = views, columns = evenly spaced frames) for eyeballing episodes."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from robo_reward.data import Episode
from robo_reward.report.figure import pyplot, save_figure

logger = logging.getLogger(__name__)


def contact_sheet(episode: Episode, path: str | os.PathLike[str], n_frames: int = 6) -> Path:
    """Write a PNG grid of ``episode``: one row per view, ``n_frames`` evenly spaced columns titled with the
    frame index and active stage. Returns the path (written atomically)."""
    if not episode.frames:
        raise ValueError("episode has no frames (loaded with load_frames=False?); read it with frames to draw it.")
    if n_frames < 1:
        raise ValueError(f"n_frames must be >= 1, got {n_frames}.")
    plt = pyplot()

    t = episode.num_frames
    idx = np.unique(np.linspace(0, t - 1, min(n_frames, t)).round().astype(int))
    views = episode.views
    fig, axes = plt.subplots(len(views), len(idx), figsize=(1.9 * len(idx), 2.0 * len(views) + 0.4), squeeze=False)
    for r, view in enumerate(views):
        for c, i in enumerate(idx):
            ax = axes[r][c]
            ax.imshow(episode.frames[view][i])
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"t={i} {episode.stage_at(int(i)) or ''}", fontsize=8)
            if c == 0:
                ax.set_ylabel(view, fontsize=9)
    fig.suptitle(f"{episode.task}: {episode.instruction} [{episode.outcome}]", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path, dpi=80)
