"""The episode format on disk, and datasets of episodes.

An episode is one directory::

    <episode>/
      <view>.mp4        one video per camera view (RGB, mp4v), all with the same number of frames
      meta.json         task, instruction, fps, outcome, views, num_frames, per-frame states and actions,
                        stage keyframes [{stage, start_frame, end_frame}], extra (seed, failure mode, ...)

A dataset is a folder of episode directories plus ``index.json`` (one row per episode: name, task, outcome,
num_frames, views). Every writer is atomic: a crash leaves either the old file or the new one, never half.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from robo_reward.data.atomic import atomic_write_json, atomic_write_text, default_permissions, json_default
from robo_reward.data.video import VideoError, probe_video, read_video, write_video

logger = logging.getLogger(__name__)

OUTCOMES = ("success", "partial", "failure")
FORMAT_VERSION = 1
META_FILE = "meta.json"
INDEX_FILE = "index.json"


class EpisodeFormatError(ValueError):
    """An episode directory does not follow the format. The message names the file and the problem."""


@dataclass
class StageSpan:
    """A stage and the frames (inclusive) during which it was the active stage."""

    stage: str
    start_frame: int
    end_frame: int

    def __post_init__(self) -> None:
        if self.start_frame < 0 or self.end_frame < self.start_frame:
            raise ValueError(
                f"stage {self.stage!r}: need 0 <= start_frame <= end_frame, got {self.start_frame}..{self.end_frame}"
            )


@dataclass
class Episode:
    """One recorded episode, all views aligned frame by frame."""

    task: str
    instruction: str
    fps: float
    outcome: str
    frames: dict[str, np.ndarray]  # view -> (T, H, W, 3) uint8 RGB
    states: np.ndarray  # (T, S) float32, state at frame t
    actions: np.ndarray  # (T, A) float32, action applied after frame t (last row zeros)
    stages: list[StageSpan]
    state_names: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    num_frames_hint: int | None = None  # frame count when frames were not loaded

    @property
    def views(self) -> tuple[str, ...]:
        return tuple(self.frames)

    @property
    def num_frames(self) -> int:
        if self.frames:
            return int(next(iter(self.frames.values())).shape[0])
        if self.num_frames_hint is not None:
            return self.num_frames_hint
        return int(len(self.states))

    def validate(self, where: str = "episode") -> None:
        """Check shapes, dtypes, outcome and stage spans; raise EpisodeFormatError naming what is wrong."""
        if self.outcome not in OUTCOMES:
            raise EpisodeFormatError(f"{where}: outcome {self.outcome!r} is not one of {OUTCOMES}")
        if not (self.fps > 0):
            raise EpisodeFormatError(f"{where}: fps must be > 0, got {self.fps}")
        t = self.num_frames
        if t == 0:
            raise EpisodeFormatError(f"{where}: episode has zero frames")
        for view, fr in self.frames.items():
            if fr.ndim != 4 or fr.shape[-1] != 3 or fr.dtype != np.uint8:
                raise EpisodeFormatError(f"{where}: view {view!r} must be (T, H, W, 3) uint8, got {fr.shape} {fr.dtype}")
            if fr.shape[0] != t:
                counts = {v: int(f.shape[0]) for v, f in self.frames.items()}
                raise EpisodeFormatError(f"{where}: views disagree on frame count: {counts}")
        if len(self.states) != t or len(self.actions) != t:
            raise EpisodeFormatError(
                f"{where}: {t} frames but {len(self.states)} states and {len(self.actions)} actions; need one of each per frame"
            )
        if self.state_names and np.asarray(self.states).ndim == 2 and len(self.state_names) != np.asarray(self.states).shape[1]:
            raise EpisodeFormatError(
                f"{where}: {len(self.state_names)} state_names for states of width {np.asarray(self.states).shape[1]}"
            )
        prev_end = -1
        for span in self.stages:
            if span.start_frame <= prev_end or span.end_frame >= t:
                raise EpisodeFormatError(
                    f"{where}: stage {span.stage!r} spans frames {span.start_frame}..{span.end_frame}; stages must be "
                    f"ordered, non-overlapping and inside 0..{t - 1}"
                )
            prev_end = span.end_frame

    def stage_at(self, frame: int) -> str | None:
        for span in self.stages:
            if span.start_frame <= frame <= span.end_frame:
                return span.stage
        return None


def write_episode(directory: str | os.PathLike[str], episode: Episode) -> Path:
    """Write an episode directory: ``<view>.mp4`` per view, then ``meta.json`` last (its presence marks completeness).

    The episode is first written to a temporary sibling directory and renamed into place, so a reader
    never sees a half-written episode. An existing directory at ``directory`` is replaced.
    """
    directory = Path(directory)
    episode.validate(str(directory))
    if not episode.frames:
        raise EpisodeFormatError(f"{directory}: cannot write an episode without frames")
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    default_permissions(tmp_dir)
    try:
        for view, frames in episode.frames.items():
            write_video(tmp_dir / f"{view}.mp4", frames, episode.fps)
        meta = {
            "format_version": FORMAT_VERSION,
            "task": episode.task,
            "instruction": episode.instruction,
            "fps": float(episode.fps),
            "outcome": episode.outcome,
            "views": list(episode.views),
            "num_frames": episode.num_frames,
            "image_size": {v: list(f.shape[1:3]) for v, f in episode.frames.items()},
            "stages": [asdict(s) for s in episode.stages],
            "state_names": list(episode.state_names),
            "states": np.asarray(episode.states, dtype=np.float32).round(6).tolist(),
            "actions": np.asarray(episode.actions, dtype=np.float32).round(6).tolist(),
            "extra": episode.extra,
        }
        atomic_write_text(tmp_dir / META_FILE, json.dumps(meta, default=json_default) + "\n")
        if directory.exists():
            old = directory.with_name(f".{directory.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(directory, old)
            os.replace(tmp_dir, directory)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp_dir, directory)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    return directory


def read_meta(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check ``meta.json`` of an episode directory."""
    directory = Path(directory)
    meta_path = directory / META_FILE
    if not directory.is_dir():
        raise EpisodeFormatError(f"{directory}: episode directory not found")
    if not meta_path.is_file():
        raise EpisodeFormatError(f"{meta_path}: missing metadata file (is this an episode directory?)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise EpisodeFormatError(f"{meta_path}: not valid JSON ({exc})") from exc
    required = ("task", "instruction", "fps", "outcome", "views", "num_frames", "stages", "states", "actions")
    missing = [k for k in required if k not in meta]
    if missing:
        raise EpisodeFormatError(f"{meta_path}: missing fields {missing}")
    if meta.get("format_version", FORMAT_VERSION) > FORMAT_VERSION:
        raise EpisodeFormatError(
            f"{meta_path}: format_version {meta['format_version']} is newer than this robo-reward reads ({FORMAT_VERSION}); upgrade"
        )
    return meta


def read_episode(
    directory: str | os.PathLike[str],
    views: Iterable[str] | None = None,
    load_frames: bool = True,
) -> Episode:
    """Read and validate an episode directory.

    Args:
        directory: the episode folder.
        views: the views to load (default: all listed in meta.json). An unknown view is an error.
        load_frames: False reads metadata only (frame counts are still checked against each video's header).

    Raises:
        EpisodeFormatError: missing/corrupt meta or video, truncated video, views disagreeing on frame count.
    """
    directory = Path(directory)
    meta = read_meta(directory)
    all_views = list(meta["views"])
    wanted = all_views if views is None else list(views)
    unknown = [v for v in wanted if v not in all_views]
    if unknown:
        raise EpisodeFormatError(f"{directory}: views {unknown} not in this episode (it has {all_views})")
    n = int(meta["num_frames"])
    frames: dict[str, np.ndarray] = {}
    for view in wanted:
        path = directory / f"{view}.mp4"
        if not path.is_file():
            raise EpisodeFormatError(f"{path}: missing video for view {view!r} listed in {META_FILE}")
        try:
            if load_frames:
                fr, _ = read_video(path)
                got = len(fr)
            else:
                got = probe_video(path).num_frames
        except VideoError as exc:
            raise EpisodeFormatError(str(exc)) from exc
        if got != n:
            problem = "truncated video" if got < n else "video longer than metadata"
            raise EpisodeFormatError(f"{path}: {problem}: {got} frames, {META_FILE} says {n}")
        if load_frames:
            frames[view] = fr
    episode = Episode(
        task=meta["task"],
        instruction=meta["instruction"],
        fps=float(meta["fps"]),
        outcome=meta["outcome"],
        frames=frames,
        states=np.asarray(meta["states"], dtype=np.float32),
        actions=np.asarray(meta["actions"], dtype=np.float32),
        stages=[StageSpan(**s) for s in meta["stages"]],
        state_names=list(meta.get("state_names", [])),
        extra=dict(meta.get("extra", {})),
        num_frames_hint=n,
    )
    try:
        episode.validate(str(directory))
    except EpisodeFormatError as exc:
        raise EpisodeFormatError(f"{exc} (in {directory / META_FILE})") from exc
    return episode


def reversed_episode(episode: Episode) -> Episode:
    """The time-reversed episode (frames, states, actions and stage spans mirrored), used as a negative."""
    t = episode.num_frames
    stages = [StageSpan(s.stage, t - 1 - s.end_frame, t - 1 - s.start_frame) for s in reversed(episode.stages)]
    return Episode(
        task=episode.task,
        instruction=episode.instruction,
        fps=episode.fps,
        outcome="failure",
        frames={v: f[::-1].copy() for v, f in episode.frames.items()},
        states=np.asarray(episode.states)[::-1].copy(),
        actions=np.asarray(episode.actions)[::-1].copy(),
        stages=stages,
        state_names=list(episode.state_names),
        extra={**episode.extra, "reversed": True},
        num_frames_hint=t,
    )


class EpisodeDataset:
    """A folder of episode directories with an ``index.json``.

    The index is a cache of each episode's meta (name, task, outcome, num_frames, views); ``rebuild_index``
    recreates it from the episode folders, so it can always be regenerated.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    @property
    def index_path(self) -> Path:
        return self.root / INDEX_FILE

    def index(self) -> list[dict[str, Any]]:
        if not self.index_path.is_file():
            if self.root.is_dir():
                return self.rebuild_index()
            raise EpisodeFormatError(f"{self.root}: dataset folder not found")
        try:
            data = json.loads(self.index_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise EpisodeFormatError(f"{self.index_path}: not valid JSON ({exc}); delete it to rebuild") from exc
        return list(data["episodes"])

    def rebuild_index(self) -> list[dict[str, Any]]:
        rows = []
        for child in sorted(self.root.iterdir()) if self.root.is_dir() else []:
            if child.is_dir() and not child.name.startswith(".") and (child / META_FILE).is_file():
                rows.append(self._row(child.name, read_meta(child)))
        self._write_index(rows)
        return rows

    @staticmethod
    def _row(name: str, meta: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": name,
            "task": meta["task"],
            "outcome": meta["outcome"],
            "num_frames": int(meta["num_frames"]),
            "views": list(meta["views"]),
            "failure_mode": meta.get("extra", {}).get("failure_mode"),
        }

    def _write_index(self, rows: list[dict[str, Any]]) -> None:
        atomic_write_json(self.index_path, {"format_version": FORMAT_VERSION, "episodes": rows})

    def add(self, episode: Episode, name: str | None = None) -> Path:
        """Write ``episode`` into the dataset and update the index (single writer assumed for the index)."""
        rows = self.index() if self.root.is_dir() else []
        if name is None:
            name = f"{episode.task}_{len(rows):05d}"
        path = write_episode(self.root / name, episode)
        rows = [r for r in rows if r["name"] != name]
        rows.append(self._row(name, read_meta(path)))
        self._write_index(sorted(rows, key=lambda r: r["name"]))
        return path

    def episodes(self, task: str | None = None, outcome: str | None = None) -> list[Path]:
        """Episode directories, optionally filtered by task and outcome, in name order."""
        if outcome is not None and outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
        return [
            self.root / r["name"]
            for r in self.index()
            if (task is None or r["task"] == task) and (outcome is None or r["outcome"] == outcome)
        ]

    def tasks(self) -> list[str]:
        return sorted({r["task"] for r in self.index()})

    def __len__(self) -> int:
        return len(self.index())
