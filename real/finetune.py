"""Run directory of online fine-tuning: crash-safe checkpoints, replay buffer, episode log, success plot.

Layout of ``run_dir``::

    latest.json            {"generation": g, "episodes_done": n, ...}  -- written last, atomically
    agent-<g>.pt           SAC weights + optimisers + RNG state (torch.save; loaded with weights_only=True)
    replay-<g>.npz         replay buffer (np.savez; loaded with allow_pickle=False)
    episodes.jsonl         one JSON line per finished episode
    success_rate.png       rolling success rate over episodes

A checkpoint is valid only once ``latest.json`` points at it, so a ``kill -9`` at any moment leaves either the
previous or the new generation, never a mix. On resume, log lines of episodes after the checkpoint are dropped
(they will be run again).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from robo_reward.data.atomic import atomic_path, atomic_write_bytes
from robo_reward.real.sac import SAC, ReplayBuffer
from robo_reward.report.figure import pyplot, save_figure

logger = logging.getLogger(__name__)


@dataclass
class Resumed:
    episodes_done: int
    total_steps: int
    generation: int


class RunDir:
    """Checkpoint/resume/log helper for one fine-tuning run."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.log_path = self.path / "episodes.jsonl"
        self.plot_path = self.path / "success_rate.png"

    def latest(self) -> dict[str, Any] | None:
        f = self.path / "latest.json"
        return json.loads(f.read_text()) if f.exists() else None

    def save(self, agent: SAC, buffer: ReplayBuffer, episodes_done: int, total_steps: int,
             rng: np.random.Generator) -> int:
        """Write generation g+1 (agent, buffer), then point latest.json at it; delete older generations and the temp
        files of an interrupted save."""
        prev = self.latest()
        gen = (prev["generation"] + 1) if prev else 1
        buffer.save(self.path / f"replay-{gen}.npz")
        state = {"agent": agent.state_dict(), "rng": torch.tensor(np.frombuffer(
            json.dumps(rng.bit_generator.state).encode(), dtype=np.uint8).copy())}
        with atomic_path(self.path / f"agent-{gen}.pt") as tmp:
            torch.save(state, tmp)
        meta = {"generation": gen, "episodes_done": episodes_done, "total_steps": total_steps,
                "buffer_size": buffer.size}
        atomic_write_bytes(self.path / "latest.json", json.dumps(meta).encode())
        for old in list(self.path.glob("agent-*.pt")) + list(self.path.glob("replay-*.npz")):
            if old.stem.split("-")[-1] != str(gen):
                old.unlink(missing_ok=True)
        # temp files of a save that was killed mid-write (atomic_path names them .<stem>.<random><suffix>)
        for stale in list(self.path.glob(".agent-*.pt")) + list(self.path.glob(".replay-*.npz")):
            stale.unlink(missing_ok=True)
        return gen

    def resume(self, agent: SAC, capacity: int, rng: np.random.Generator) -> tuple[Resumed, ReplayBuffer] | None:
        """Load the latest generation into ``agent``/``rng``; returns None when the run is new."""
        meta = self.latest()
        if meta is None:
            return None
        gen = int(meta["generation"])
        state = torch.load(self.path / f"agent-{gen}.pt", map_location=agent.device, weights_only=True)
        agent.load_state_dict(state["agent"])
        rng.bit_generator.state = json.loads(bytes(state["rng"].numpy()).decode())
        buffer = ReplayBuffer.load(self.path / f"replay-{gen}.npz", capacity=capacity)
        if buffer.size != int(meta["buffer_size"]):
            raise ValueError(f"{self.path}: replay-{gen}.npz has {buffer.size} transitions, latest.json says "
                             f"{meta['buffer_size']}; the run directory is corrupt")
        self._truncate_log(int(meta["episodes_done"]))
        return Resumed(int(meta["episodes_done"]), int(meta["total_steps"]), gen), buffer

    def _truncate_log(self, episodes_done: int) -> None:
        rows = self.read_log()
        keep = [r for r in rows if r["episode"] < episodes_done]
        if len(keep) != len(rows):
            atomic_write_bytes(self.log_path, "".join(json.dumps(r) + "\n" for r in keep).encode())

    def append_log(self, row: dict[str, Any]) -> None:
        """Append one episode line (flushed and fsynced)."""
        with open(self.log_path, "a") as f:
            f.write(json.dumps(row) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def read_log(self) -> list[dict[str, Any]]:
        if not self.log_path.exists():
            return []
        rows = []
        for line in self.log_path.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:  # a torn last line after a crash
                continue
        return rows

    def plot(self, window: int = 10) -> Path:
        """Rolling success rate (and return) per episode -> ``success_rate.png`` (atomic)."""
        plt = pyplot()
        rows = self.read_log()
        ep = np.array([r["episode"] for r in rows])
        succ = np.array([float(r["success"]) for r in rows])
        roll = np.array([succ[max(0, i - window + 1): i + 1].mean() for i in range(len(succ))]) if len(succ) else succ
        fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
        ax.plot(ep, roll, marker="o", ms=3, label=f"success rate (rolling {window})")
        ax.set_xlabel("episode")
        ax.set_ylabel("success rate")
        ax.set_ylim(-0.05, 1.05)
        ax.set_title(f"online fine-tuning: {len(rows)} episodes")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left")
        fig.tight_layout()
        return save_figure(fig, self.plot_path, dpi=100)


# ---------------------------------------------------------------------- reward <-> step matching
STAMPED_LAYOUT = ("stamp_sec", "stamp_nanosec", "progress", "shaped", "success")
"""Fields of one ``reward/stamped`` (std_msgs/Float64MultiArray) message, in order: the header stamp of the
newest frame of the scored frame set (sec and nanosec are exact in float64), Phi of that set, the shaped reward
``success_bonus * success + gamma * Phi(set) - Phi(previous set)`` and success (0/1)."""


@dataclass(frozen=True)
class StampedReward:
    stamp_ns: int
    progress: float
    shaped: float
    success: bool

    @staticmethod
    def from_array(data: Any) -> StampedReward:
        """Parse the ``STAMPED_LAYOUT`` values of a ``reward/stamped`` message."""
        if len(data) < len(STAMPED_LAYOUT):
            raise ValueError(f"reward/stamped needs {len(STAMPED_LAYOUT)} values {STAMPED_LAYOUT}, got {len(data)}")
        return StampedReward(int(data[0]) * 1_000_000_000 + int(data[1]), float(data[2]), float(data[3]),
                             bool(data[4] >= 0.5))

    def to_array(self) -> list[float]:
        return [float(self.stamp_ns // 1_000_000_000), float(self.stamp_ns % 1_000_000_000), self.progress,
                self.shaped, float(self.success)]


def frame_set_stamp(stamps_ns: dict[str, int], topics: list[str], tolerance_ns: int) -> int | None:
    """Stamp of the frame set made of the latest frame of every topic: the newest stamp (as the reward node's
    pairing), or None when a topic has no frame yet or the stamps spread more than ``tolerance_ns``."""
    if not topics or any(t not in stamps_ns for t in topics):
        return None
    vals = [stamps_ns[t] for t in topics]
    return max(vals) if max(vals) - min(vals) <= tolerance_ns else None


class RewardMatcher:
    """Assigns the reward node's stamped outputs to control steps by the camera stamp of the step's frames.

    A control step goes from the frame set of ``s`` (stamp ``T_s``) to the frame set of ``s'`` (``T_s'``); its
    shaped reward is the sum of the ``shaped`` values of the scored sets with ``T_s < stamp <= T_s'`` (one set
    when the camera and control rates match; the potential differences telescope over several), its progress
    and success those of the set at ``T_s'``. The step is ready only once the set at ``T_s'`` (within
    ``tolerance_ns``) has arrived; the reward topic is reliable and in stamp order, so the earlier ones are in.
    ``begin_episode(after_ns)`` forgets everything and ignores sets stamped at or before ``after_ns`` (frames
    rendered before the reset), so the previous episode never leaks into the new one.
    """

    def __init__(self, tolerance_ns: int = 1_000_000, maxlen: int = 200) -> None:
        self.tolerance_ns = int(tolerance_ns)
        self.maxlen = int(maxlen)
        self.after_ns = -1
        self._sets: list[StampedReward] = []
        self.ignored = 0

    def begin_episode(self, after_ns: int) -> None:
        self.after_ns = int(after_ns)
        self._sets.clear()

    def add(self, rec: StampedReward) -> bool:
        """Keep ``rec`` unless it predates the episode or is out of order; returns whether it was kept."""
        if rec.stamp_ns <= self.after_ns or (self._sets and rec.stamp_ns <= self._sets[-1].stamp_ns):
            self.ignored += 1
            return False
        self._sets.append(rec)
        if len(self._sets) > self.maxlen:
            del self._sets[: len(self._sets) - self.maxlen]
        return True

    def lookup(self, stamp_ns: int) -> StampedReward | None:
        """The scored set at ``stamp_ns`` (within the tolerance), or None if it has not arrived."""
        for rec in reversed(self._sets):
            if abs(rec.stamp_ns - stamp_ns) <= self.tolerance_ns:
                return rec
            if rec.stamp_ns < stamp_ns - self.tolerance_ns:
                return None
        return None

    def step_reward(self, prev: StampedReward | None, stamp_ns: int) -> tuple[float, StampedReward] | None:
        """(shaped reward of the step from the set ``prev`` (that of ``s``) to the set at ``stamp_ns`` (``s'``), that
        set), or None while the ``s'`` set has not arrived. ``prev=None``: first observation of the episode, 0."""
        end = self.lookup(stamp_ns)
        if end is None:
            return None
        if prev is None:
            return 0.0, end
        r = sum(s.shaped for s in self._sets if prev.stamp_ns < s.stamp_ns <= end.stamp_ns)
        return float(r), end
