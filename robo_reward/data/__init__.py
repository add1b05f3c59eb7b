"""Episodes on disk: per-view videos plus metadata, and datasets of them."""

from robo_reward.data.atomic import atomic_write_json
from robo_reward.data.episodes import (
    OUTCOMES,
    Episode,
    EpisodeDataset,
    EpisodeFormatError,
    StageSpan,
    read_episode,
    read_meta,
    reversed_episode,
    write_episode,
)
from robo_reward.data.video import VIDEO_SUFFIXES, VideoError, VideoInfo, probe_video, read_video, write_video

__all__ = [
    "OUTCOMES",
    "Episode",
    "EpisodeDataset",
    "EpisodeFormatError",
    "StageSpan",
    "VIDEO_SUFFIXES",
    "VideoError",
    "VideoInfo",
    "atomic_write_json",
    "probe_video",
    "read_episode",
    "read_meta",
    "read_video",
    "reversed_episode",
    "write_episode",
    "write_video",
]
