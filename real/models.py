"""Build the progress model a node or the bag scorer uses: a trained model directory or ``heuristic``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

from robo_reward.real.heuristic import HeuristicProgressModel
from robo_reward.types import BatchedProgressModel

logger = logging.getLogger(__name__)

HEURISTIC = "heuristic"


def load_progress_model(model: str, views: Sequence[str], num_envs: int = 1, task: str | None = None) -> BatchedProgressModel:
    """``model`` = ``"heuristic"`` (colour rule, see :mod:`robo_reward.real.heuristic`) or a directory written by
    the reward trainer or by ``robo-reward adapt`` (see :func:`robo_reward.loading.load_progress_model`).

    The loaded model must use exactly ``views`` (the camera -> view mapping of the caller).
    """
    if model == HEURISTIC:
        return HeuristicProgressModel(views, num_envs=num_envs)
    path = Path(model).expanduser()
    if not path.is_dir():
        raise ValueError(f"reward model {model!r} is neither 'heuristic' nor an existing directory; "
                         "pass the output directory of `robo-reward train` or 'heuristic'")
    from robo_reward.loading import load_progress_model as load_dir

    streamer: BatchedProgressModel = load_dir(path, num_envs, task=task, views=list(views))
    if tuple(streamer.views) != tuple(views):
        if sorted(streamer.views) != sorted(views):
            raise ValueError(f"reward model {path} was trained on views {list(streamer.views)} but the cameras are "
                             f"mapped to {list(views)}; set the `views` parameter to the model's view names")
    logger.info("loaded reward model %s (views %s)", path, list(streamer.views))
    return streamer
