"""Approximate-time pairing of messages from several topics by header stamp (pure Python).

A simplified ``message_filters.ApproximateTimeSynchronizer``: per-topic FIFO queues (stamps assumed
non-decreasing per topic). A set is emitted when every topic has a message and the chosen messages' stamps
span at most ``tolerance_ns``. The pivot is the latest of the queue heads; for each topic the newest message
not after the pivot is chosen. Heads older than ``pivot - tolerance`` can never be matched any more (all
other topics only get newer) and are dropped and counted.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Generic, Sequence, TypeVar

T = TypeVar("T")


@dataclass
class MatchedSet(Generic[T]):
    """One frame per topic. ``stamp_ns`` is the newest stamp in the set, ``spread_ns`` max - min."""

    items: dict[str, T]
    stamps_ns: dict[str, int]
    stamp_ns: int
    spread_ns: int


class StampPairer(Generic[T]):
    """Pair messages across ``topics`` whose stamps lie within ``tolerance_ns`` of each other."""

    def __init__(self, topics: Sequence[str], tolerance_ns: int, queue_size: int = 5) -> None:
        if not topics:
            raise ValueError("StampPairer needs at least one topic")
        if len(set(topics)) != len(topics):
            raise ValueError(f"StampPairer topics must be unique, got {list(topics)}")
        if tolerance_ns < 0:
            raise ValueError(f"tolerance_ns must be >= 0, got {tolerance_ns}")
        if queue_size < 1:
            raise ValueError(f"queue_size must be >= 1, got {queue_size}")
        self.topics = tuple(topics)
        self.tolerance_ns = int(tolerance_ns)
        self.queue_size = int(queue_size)
        self._queues: dict[str, deque[tuple[int, T]]] = {t: deque() for t in self.topics}
        self.dropped: dict[str, int] = {t: 0 for t in self.topics}
        self.out_of_order: dict[str, int] = {t: 0 for t in self.topics}
        self.matched = 0

    def reset(self) -> None:
        for q in self._queues.values():
            q.clear()

    def add(self, topic: str, stamp_ns: int, item: T) -> list[MatchedSet[T]]:
        """Queue one message; return the sets completed by it (usually zero or one)."""
        if topic not in self._queues:
            raise ValueError(f"unknown topic {topic!r}; this pairer handles {list(self.topics)}")
        q = self._queues[topic]
        if q and stamp_ns < q[-1][0]:
            self.out_of_order[topic] += 1  # older than something already queued: ignore it
            return []
        q.append((int(stamp_ns), item))
        if len(q) > self.queue_size:
            q.popleft()
            self.dropped[topic] += 1
        out: list[MatchedSet[T]] = []
        while True:
            m = self._try_match()
            if m is None:
                return out
            out.append(m)

    def _try_match(self) -> MatchedSet[T] | None:
        while all(self._queues.values()):
            pivot = max(q[0][0] for q in self._queues.values())
            # heads that are too old for any future match
            stale = [t for t, q in self._queues.items() if q[0][0] < pivot - self.tolerance_ns]
            if stale:
                for t in stale:
                    self._queues[t].popleft()
                    self.dropped[t] += 1
                continue
            # per topic the newest message not after the pivot: all lie in [pivot - tol, pivot]
            chosen: dict[str, int] = {}
            for t, q in self._queues.items():
                chosen[t] = max(i for i in range(len(q)) if q[i][0] <= pivot)
            stamps = {t: self._queues[t][i][0] for t, i in chosen.items()}
            spread = max(stamps.values()) - min(stamps.values())
            items: dict[str, T] = {}
            for t, i in chosen.items():
                q = self._queues[t]
                for _ in range(i):  # older, never matched
                    q.popleft()
                    self.dropped[t] += 1
                items[t] = q.popleft()[1]
            self.matched += 1
            return MatchedSet(items, stamps, max(stamps.values()), spread)
        return None
