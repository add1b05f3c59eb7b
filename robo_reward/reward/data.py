"""Training data in embedding space: labelled episodes, task references and the balanced pair sampler.

The core never touches pixels: an :class:`EmbeddedEpisode` holds per-view backbone embeddings and per-frame progress
labels (see :mod:`robo_reward.reward.labels`). :func:`load_embedded_episodes` builds them from recorded episodes
(``robo_reward.data``) through the backbone's embedding cache; :mod:`robo_reward.reward.synthetic` builds them from
scratch for tests.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from robo_reward.progress import ProgressBar
from robo_reward.reward.labels import (
    canonical_stage_order,
    hop_label,
    progress_labels,
    to_canonical_spans,
)

logger = logging.getLogger(__name__)

QUERY_KINDS = ("forward", "backward", "pair")


@dataclass
class EmbeddedEpisode:
    """One episode in embedding space.

    ``emb``: view -> (T, D) float32; ``progress``: (T,) float32 labels in [0, 1]; ``outcome`` in
    ("success", "partial", "failure"); ``stage``: (T,) int canonical stage index of each frame (None when the
    episode has no stage spans: the engaged head is then not trained on it).
    """

    name: str
    task: str
    instruction: str
    outcome: str
    emb: dict[str, np.ndarray]
    progress: np.ndarray
    extra: dict[str, Any] = field(default_factory=dict)
    stage: np.ndarray | None = None

    @property
    def num_frames(self) -> int:
        return int(self.progress.shape[0])

    @property
    def views(self) -> tuple[str, ...]:
        return tuple(self.emb)

    @property
    def key(self) -> str:
        """Identity of the recorded episode: its folder path when loaded from disk (folder names repeat across
        dataset roots: ``success/reach_00003`` and ``partial/reach_00003``), else its name. A reversed copy keeps
        the key of the episode it was made from."""
        return str(self.extra.get("path") or self.name.removesuffix("/reversed"))

    def reversed(self) -> "EmbeddedEpisode":
        """The time-reversed episode (a rewound video), labels reversed with it."""
        return EmbeddedEpisode(
            name=self.name + "/reversed",
            task=self.task,
            instruction=self.instruction,
            outcome="reversed",
            emb={v: e[::-1].copy() for v, e in self.emb.items()},
            progress=self.progress[::-1].copy(),
            extra=dict(self.extra),
            stage=None if self.stage is None else self.stage[::-1].copy(),
        )


@dataclass
class Reference:
    """A task's reference: start and (optional) goal embeddings per view, and the task text embedding.

    ``start``/``goal``: view -> (D,) float32; ``text``: (T_d,) float32 or None.
    """

    task: str
    instruction: str
    start: dict[str, np.ndarray]
    goal: dict[str, np.ndarray] | None
    text: np.ndarray | None
    source: str = ""

    @classmethod
    def from_embeddings(cls, task: str, instruction: str, emb: Mapping[str, np.ndarray], text: np.ndarray | None,
                        source: str = "", with_goal: bool = True) -> "Reference":
        """Reference from a (successful) demo's per-view (T, D) embeddings: the first frame is the start, the last
        frame the goal."""
        return cls(
            task=task,
            instruction=instruction,
            start={v: np.array(e[0], np.float32) for v, e in emb.items()},
            goal={v: np.array(e[-1], np.float32) for v, e in emb.items()} if with_goal else None,
            text=None if text is None else np.asarray(text, np.float32),
            source=source,
        )

    @classmethod
    def from_episode(cls, ep: EmbeddedEpisode, text: np.ndarray | None, with_goal: bool = True) -> "Reference":
        """Reference from a (successful) embedded episode (see :meth:`from_embeddings`)."""
        return cls.from_embeddings(ep.task, ep.instruction, ep.emb, text, ep.key, with_goal)


def other_references(ep: EmbeddedEpisode, pool: Sequence[EmbeddedEpisode], texts: dict[str, np.ndarray],
                     k: int = 1) -> list[Reference]:
    """Up to ``k`` references for scoring ``ep``: the first successful episodes of its task by name, other than
    ``ep`` itself (compared by :attr:`EmbeddedEpisode.key`, so a same-named episode of another root still counts)."""
    refs = [Reference.from_episode(c, texts.get(ep.task)) for c in sorted(pool, key=lambda e: (e.name, e.key))
            if c.task == ep.task and c.outcome == "success" and c.key != ep.key][:k]
    if not refs:
        raise ValueError(f"no other successful episode of task {ep.task!r} to use as reference for {ep.name}")
    return refs


def label_episode_stages(
    stages: Sequence[tuple[str, int, int]],
    num_frames: int,
    success: bool,
    order: Sequence[str],
    typical_len: Sequence[float] | None,
    incomplete_cap: float = 0.5,
) -> np.ndarray:
    """(T,) progress labels of one episode from ``(name, start, end)`` stage spans and the task's stage order."""
    spans = to_canonical_spans(stages, order)
    return progress_labels(spans, num_frames, len(order), success, typical_len, incomplete_cap)


def frame_stages(stages: Sequence[tuple[str, int, int]], num_frames: int, order: Sequence[str]) -> np.ndarray:
    """(T,) canonical stage index of every frame from ``(name, start, end)`` spans (frames no span covers: the
    stage of the span before them, 0 before the first)."""
    out = np.zeros(num_frames, np.int64)
    for sp in sorted(to_canonical_spans(stages, order), key=lambda x: x.start_frame):
        out[sp.start_frame :] = sp.stage  # the next span, if any, overwrites from its own start
    return out


def task_stage_stats(
    episodes: Sequence[tuple[str, str, Sequence[tuple[str, int, int]]]]
) -> dict[str, tuple[list[str], np.ndarray]]:
    """Per task: canonical stage order and (M,) median successful stage lengths.

    ``episodes``: (task, outcome, stages) triples. Tasks without a successful episode raise (their stage count
    is unknown).
    """
    by_task: dict[str, list[Sequence[tuple[str, int, int]]]] = {}
    tasks = set()
    for task, outcome, stages in episodes:
        tasks.add(task)
        if outcome == "success":
            by_task.setdefault(task, []).append(stages)
    out = {}
    for task in sorted(tasks):
        succ = by_task.get(task)
        if not succ:
            raise ValueError(
                f"task {task!r} has no successful episode, so its stages and goal are unknown; record at least "
                "one successful demo of it"
            )
        order = canonical_stage_order([[s[0] for s in st] for st in succ])
        lens: list[list[int]] = [[] for _ in order]
        for st in succ:
            for name, a, b in st:
                lens[order.index(name)].append(b - a + 1)
        out[task] = (order, np.array([np.median(x) if x else 1.0 for x in lens], dtype=np.float32))
    return out


#: Label sources of :func:`load_embedded_episodes` (``labels=``).
LABEL_SOURCES = ("stages", "sim")


def load_embedded_episodes(
    roots: Sequence[str | Path],
    encode_video: Callable[[Path], np.ndarray],
    views: Sequence[str] | None = None,
    tasks: Sequence[str] | None = None,
    incomplete_cap: float = 0.5,
    labels: str = "stages",
) -> list[EmbeddedEpisode]:
    """Read recorded episodes (``robo_reward.data``) and embed every view.

    Args:
        roots: dataset roots (``EpisodeDataset`` folders).
        encode_video: path of a ``<view>.mp4`` -> (T, D) embeddings, e.g.
            ``lambda p: cache.get_video(p, backbone)``.
        views: views to load (default: the views common to all episodes).
        tasks: only these tasks (default all).
        labels: "stages" (step-wise labels from the stage spans, :mod:`robo_reward.reward.labels`) or "sim":
            the simulator's continuous true progress where the episode recorded one (``extra.true_progress``,
            reach and push), stage labels otherwise. Stage labels of a failed attempt climb with time inside its
            stage (an attempt that starts like a success looks like one); an arm that wanders away from the goal is
            then labelled as progressing, and a learner shaped by the model is paid to wander. Sim labels say 0.
    """
    if labels not in LABEL_SOURCES:
        raise ValueError(f"labels must be one of {LABEL_SOURCES}, got {labels!r}")
    from robo_reward.data import EpisodeDataset, read_episode, read_meta  # local: keeps the core importable without IO deps

    metas = []
    for root in roots:
        ds = EpisodeDataset(root)
        for path in ds.episodes():
            ep = read_episode(path, load_frames=False)
            if tasks is not None and ep.task not in tasks:
                continue
            metas.append((Path(path), ep, tuple(read_meta(path)["views"])))
    if not metas:
        raise ValueError(f"no episodes found under {list(map(str, roots))} (tasks={tasks})")
    common = set(metas[0][2])
    for _, _, ep_views in metas:
        common &= set(ep_views)
    use_views = list(views) if views is not None else sorted(common)
    missing = [v for v in use_views if v not in common]
    if missing or not use_views:
        raise ValueError(f"views {missing or use_views} are not recorded in every episode; common views: {sorted(common)}")
    stats = task_stage_stats([(ep.task, ep.outcome, _stage_tuples(ep)) for _, ep, _ in metas])
    out = []
    # Embedding every frame of every view is the slow part of a first run (minutes; the cache makes re-runs fast):
    # say so in logs, and show a bar on a terminal (a log line every 30 s elsewhere).
    logger.info("embedding %d episodes, views %s (frames already in the cache are read back)", len(metas), use_views)
    for path, ep, _ in ProgressBar(metas, desc="embedding", unit="episode", leave=False):
        order, typical = stats[ep.task]
        emb = {v: np.asarray(encode_video(path / f"{v}.mp4"), dtype=np.float32) for v in use_views}
        lengths = {v: e.shape[0] for v, e in emb.items()}
        t = min(lengths.values())
        if len(set(lengths.values())) > 1:
            logger.warning("episode %s: views have different lengths %s; truncating to %d", path, lengths, t)
        emb = {v: e[:t] for v, e in emb.items()}
        true = ep.extra.get("true_progress") if labels == "sim" else None
        if true is not None and len(true) >= t:
            lab = np.clip(np.asarray(true[:t], np.float32), 0.0, 1.0)
        else:
            lab = label_episode_stages(_stage_tuples(ep), t, ep.outcome == "success", order, typical, incomplete_cap)
        out.append(EmbeddedEpisode(path.name, ep.task, ep.instruction, ep.outcome, emb, lab,
                                   {"path": str(path), **ep.extra}, frame_stages(_stage_tuples(ep), t, order)))
    logger.info("loaded %d episodes (%d tasks, views %s)", len(out), len(stats), use_views)
    return out


def _stage_tuples(ep: Any) -> list[tuple[str, int, int]]:
    return [(s.stage, int(s.start_frame), int(s.end_frame)) for s in ep.stages]


@dataclass
class Batch:
    """A batch of hop queries (numpy, model view order). Shapes: B queries, V views, D embed, T_d text."""

    before: np.ndarray  # (B, V, D)
    after: np.ndarray  # (B, V, D)
    start: np.ndarray  # (B, V, D)
    goal: np.ndarray  # (B, V, D)
    goal_mask: np.ndarray  # (B,) bool
    view_mask: np.ndarray  # (B, V) bool
    text: np.ndarray  # (B, T_d)
    text_mask: np.ndarray  # (B,) bool
    hop: np.ndarray  # (B,) float32 target
    done: np.ndarray  # (B,) float32 target (AFTER frame is the completed task)
    kind: np.ndarray  # (B,) int index into QUERY_KINDS
    engaged: np.ndarray  # (B,) float32 target (AFTER frame is past the task's first stage)
    engaged_mask: np.ndarray  # (B,) bool, True where the AFTER episode has stage labels

    def __len__(self) -> int:
        return int(self.hop.shape[0])

    def slice(self, idx: np.ndarray | slice) -> "Batch":
        return Batch(**{k: getattr(self, k)[idx] for k in self.__dataclass_fields__})


class PairSampler:
    """Draws balanced hop queries from labelled episodes.

    Each query picks an episode, a reference demo of the same task (a *different* successful episode whenever the
    task has more than one) and a query kind: ``forward`` (BEFORE = reference start), ``backward`` (BEFORE =
    reference goal) or ``pair`` (BEFORE and AFTER from the episode, gap log-uniform in [1, T-1], either order, so
    rewound segments with negative hops are half of the pairs). A pool of ``pool_factor`` x B candidates is drawn
    and B are kept with weights inversely proportional to the frequency of their (hop bin, log-gap bucket) cell in
    the pool, which balances hop values and frame gaps (small hops dominate a uniform draw otherwise).

    View, text and goal dropout follow the model config. The draw depends only on the ``rng`` state, so every
    data-parallel rank can draw the same global batch and keep its own slice.
    """

    def __init__(
        self,
        episodes: Sequence[EmbeddedEpisode],
        views: Sequence[str],
        texts: Mapping[str, np.ndarray],
        kind_probs: Sequence[float] = (0.3, 0.2, 0.5),
        view_dropout: float = 0.3,
        text_dropout: float = 0.2,
        goal_dropout: float = 0.2,
        pool_factor: int = 4,
        hop_bins: int = 10,
    ) -> None:
        if not episodes:
            raise ValueError("PairSampler needs at least one episode")
        self.episodes = list(episodes)
        self.views = list(views)
        for ep in self.episodes:
            miss = [v for v in self.views if v not in ep.emb]
            if miss:
                raise ValueError(f"episode {ep.name} lacks views {miss} (has {list(ep.emb)})")
        self.texts = texts
        self.text_dim = int(next(iter(texts.values())).shape[-1])
        self.refs: dict[str, list[int]] = {}
        for i, ep in enumerate(self.episodes):
            if ep.outcome == "success":
                self.refs.setdefault(ep.task, []).append(i)
        for ep in self.episodes:
            if ep.task not in self.refs:
                raise ValueError(f"task {ep.task!r} has no successful episode to serve as a reference demo")
        p = np.asarray(kind_probs, dtype=np.float64)
        self.kind_probs = p / p.sum()
        self.view_dropout = view_dropout
        self.text_dropout = text_dropout
        self.goal_dropout = goal_dropout
        self.pool_factor = pool_factor
        self.hop_bins = hop_bins

    def sample(self, batch_size: int, rng: np.random.Generator) -> Batch:
        n = batch_size * self.pool_factor
        eps = rng.integers(0, len(self.episodes), size=n)
        kinds = rng.choice(3, size=n, p=self.kind_probs)
        goal_mask = rng.random(n) >= self.goal_dropout
        kinds = np.where((kinds == 1) & ~goal_mask, 0, kinds)  # backward needs a goal
        p_idx = np.zeros(n, np.int64)
        q_idx = np.zeros(n, np.int64)
        ref_idx = np.zeros(n, np.int64)
        phi_p = np.zeros(n, np.float64)
        phi_q = np.zeros(n, np.float64)
        gap = np.zeros(n, np.float64)
        for j in range(n):
            ep = self.episodes[eps[j]]
            t = ep.num_frames
            cands = [r for r in self.refs[ep.task] if r != eps[j]] or self.refs[ep.task]
            ref_idx[j] = cands[rng.integers(len(cands))]
            q = int(rng.integers(t))
            if kinds[j] == 2 and t > 1:
                g = int(np.exp(rng.uniform(0, np.log(t - 1 + 1e-9)))) if t > 2 else 1
                g = max(1, min(g, t - 1))
                lo = int(rng.integers(0, t - g))
                p, q = (lo, lo + g) if rng.random() < 0.5 else (lo + g, lo)
                p_idx[j] = p
                phi_p[j] = ep.progress[p]
                gap[j] = g
            elif kinds[j] == 2:
                kinds[j] = 0
            if kinds[j] == 1:
                phi_p[j] = 1.0
            q_idx[j] = q
            phi_q[j] = ep.progress[q]
            if kinds[j] != 2:
                gap[j] = q + 1
        hop = hop_label(phi_p, phi_q)
        hb = np.clip(((hop + 1) / 2 * self.hop_bins).astype(int), 0, self.hop_bins - 1)
        gb = np.floor(np.log2(np.maximum(gap, 1))).astype(int)
        cell = hb * 64 + np.minimum(gb, 63) + kinds * 10000
        _, inv, counts = np.unique(cell, return_inverse=True, return_counts=True)
        w = 1.0 / counts[inv]
        keep = rng.choice(n, size=batch_size, replace=False, p=w / w.sum())
        return self._assemble(keep, eps, kinds, p_idx, q_idx, ref_idx, goal_mask, hop, rng)

    def _assemble(self, keep, eps, kinds, p_idx, q_idx, ref_idx, goal_mask, hop, rng) -> Batch:  # type: ignore[no-untyped-def]
        b, v = len(keep), len(self.views)
        d = self.episodes[0].emb[self.views[0]].shape[1]
        before = np.zeros((b, v, d), np.float32)
        after = np.zeros((b, v, d), np.float32)
        start = np.zeros((b, v, d), np.float32)
        goal = np.zeros((b, v, d), np.float32)
        text = np.zeros((b, self.text_dim), np.float32)
        done = np.zeros(b, np.float32)
        engaged = np.zeros(b, np.float32)
        engaged_mask = np.zeros(b, bool)
        for i, j in enumerate(keep):
            ep, ref = self.episodes[eps[j]], self.episodes[ref_idx[j]]
            for k, view in enumerate(self.views):
                e, r = ep.emb[view], ref.emb[view]
                start[i, k] = r[0]
                goal[i, k] = r[-1]
                after[i, k] = e[q_idx[j]]
                before[i, k] = r[0] if kinds[j] == 0 else (r[-1] if kinds[j] == 1 else e[p_idx[j]])
            text[i] = self.texts[ep.task]
            done[i] = float(ep.outcome == "success" and ep.progress[q_idx[j]] >= 1.0 - 1e-6)
            if ep.stage is not None:
                engaged[i], engaged_mask[i] = float(ep.stage[q_idx[j]] >= 1), True
        view_mask = rng.random((b, v)) >= self.view_dropout
        view_mask[np.arange(b), rng.integers(0, v, size=b)] = True
        text_mask = rng.random(b) >= self.text_dropout
        return Batch(
            before, after, start, goal, goal_mask[keep].copy(), view_mask, text, text_mask,
            hop[keep].astype(np.float32), done, kinds[keep].astype(np.int64), engaged, engaged_mask,
        )
