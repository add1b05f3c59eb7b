"""Step-aware progress labels and hop labels (Robo-Dopamine, arXiv 2512.23703, Sec. 3, adapted).

Per-frame progress labels
-------------------------
A task has ``M`` canonical stages (e.g. reach, grasp, lift, place). A *successful* demo's stage spans give the
keyframes ``K_0 = first frame of stage 0`` and ``K_k = last frame of stage k-1`` (the frame at which sub-goal k-1 is
reached), with ``Phi(K_k) = k / M``. Frames between keyframes are interpolated linearly, so progress is strictly
increasing inside a stage (the paper samples a fixed number of frames per stage and labels them i/M; linear
interpolation is the same thing in the limit and keeps every frame usable). Frames after ``K_M`` (holding at the goal)
are 1.

Failed / partial episodes only reach some stages. Each recorded span is mapped to its canonical stage index ``k``:

* a span is *completed* when the next span is stage ``k+1`` or it is the last span of a successful episode; it then
  climbs linearly from ``k/M`` to ``(k+1)/M`` exactly as in a success;
* a span that is *not completed* (the episode failed in it, ran out of time, or regressed afterwards) climbs at the
  rate of the typical successful stage length ``L_k`` but saturates at ``k/M + cap/M`` (``cap`` = 0.5 by default):
  its first frames look exactly like a successful attempt (so labelling them flat would contradict visually identical
  success frames), but an attempt that never reaches the sub-goal must never be worth the sub-goal;
* a *regression* (the next span has a lower stage index, e.g. the object was dropped and the robot must grasp again)
  restarts from the lower level ``j/M`` at the first frame of the new span, so progress drops when the state is undone.

Hop labels
----------
For frames ``p`` (BEFORE) and ``q`` (AFTER) with labels ``Phi_p``, ``Phi_q``::

    H = (Phi_q - Phi_p) / (1 - Phi_p)   if Phi_q >= Phi_p   (fraction of the remaining way that was covered)
    H = (Phi_q - Phi_p) / Phi_p         otherwise           (fraction of the achieved progress that was undone)

with ``Phi_0 = 0`` and ``Phi_M = 1`` (the paper's notation); ``H`` is in [-1, 1]. The paper conditions on frame order
(q >= p); we condition on the label order, which is identical for monotone successes and gives the right sign for
regressions inside failed episodes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Sequence

import numpy as np

logger = logging.getLogger(__name__)

_EPS = 1e-6


@dataclass(frozen=True)
class Span:
    """A stage span in canonical terms: ``stage`` index in [0, M), inclusive frame range."""

    stage: int
    start_frame: int
    end_frame: int


def canonical_stage_order(stage_lists: Sequence[Sequence[str]]) -> list[str]:
    """The canonical stage order of a task from the stage-name sequences of its successful episodes.

    A successful episode may regress and the stage detector may flicker (``approach, grasp, approach, grasp, lift``),
    so each sequence is reduced to its distinct stages twice: by first and by last occurrence. The canonical order is
    the most common first-occurrence reduction among the longest ones. An episode agrees with it when either
    reduction lists the shared stages in canonical order. A minority of disagreeing episodes is logged; raises
    when half or more of the successful episodes disagree (the annotations do not define an order).
    """
    firsts = [list(dict.fromkeys(names)) for names in stage_lists]
    if not firsts:
        return []
    longest = max(len(f) for f in firsts)
    cands = [tuple(f) for f in firsts if len(f) == longest]
    best = list(max(set(cands), key=lambda c: (cands.count(c), c)))

    def agrees(uniq: list[str]) -> bool:
        idx = [best.index(n) for n in uniq if n in best]
        return idx == sorted(idx)

    bad = [list(names) for names, f in zip(stage_lists, firsts) if not (agrees(f) or agrees(_by_last_occurrence(names)))]
    if bad and 2 * len(bad) >= len(stage_lists):
        raise ValueError(
            f"successful episodes disagree on the stage order: {bad[0]} vs canonical {best} ({len(bad)} of "
            f"{len(stage_lists)} disagree); check the stage annotations of the task"
        )
    for names in bad:
        logger.warning("a successful episode's stages %s disagree with the canonical order %s", names, best)
    return best


def _by_last_occurrence(names: Sequence[str]) -> list[str]:
    """Distinct stage names ordered by the index of their last occurrence."""
    last = {n: i for i, n in enumerate(names)}
    return sorted(last, key=last.__getitem__)


def to_canonical_spans(
    stages: Sequence[tuple[str, int, int]], order: Sequence[str]
) -> list[Span]:
    """Map ``(stage_name, start, end)`` tuples onto canonical stage indices; unknown names raise."""
    out = []
    for name, start, end in stages:
        if name not in order:
            raise ValueError(f"stage {name!r} is not one of the task's stages {list(order)}")
        if end < start:
            raise ValueError(f"stage {name!r} ends before it starts ({start}..{end})")
        out.append(Span(order.index(name), int(start), int(end)))
    return out


def progress_labels(
    spans: Sequence[Span],
    num_frames: int,
    num_stages: int,
    success: bool,
    typical_stage_len: Sequence[float] | None = None,
    incomplete_cap: float = 0.5,
) -> np.ndarray:
    """Per-frame progress labels (see the module docstring).

    Args:
        spans: canonical spans, ordered by start frame.
        num_frames: T, the episode length.
        num_stages: M, the number of stages of the task.
        success: whether the episode reached the goal (its last span is then completed).
        typical_stage_len: (M,) median frames per stage over successful demos; used for incomplete spans
            (defaults to the span's own length).
        incomplete_cap: fraction of a stage an incomplete attempt can earn at most, in [0, 1).

    Returns:
        (T,) float32 in [0, 1].
    """
    if num_stages < 1:
        raise ValueError(f"num_stages must be >= 1, got {num_stages}")
    if not 0.0 <= incomplete_cap < 1.0:
        raise ValueError(f"incomplete_cap must be in [0, 1), got {incomplete_cap}")
    labels = np.zeros(num_frames, dtype=np.float64)
    if not spans:
        return labels.astype(np.float32) if not success else np.ones(num_frames, np.float32)
    m = float(num_stages)
    level = 0.0
    prev_end = -1
    for i, sp in enumerate(spans):
        start = max(sp.start_frame, prev_end + 1)
        end = min(sp.end_frame, num_frames - 1)
        if start > end:
            continue
        labels[prev_end + 1 : start] = level  # gap between spans: hold
        nxt = spans[i + 1].stage if i + 1 < len(spans) else None
        completed = (nxt == sp.stage + 1) or (nxt is None and success and sp.stage == num_stages - 1)
        base = sp.stage / m
        t = np.arange(start, end + 1, dtype=np.float64)
        if completed:
            if i == 0:  # K_0 is the first frame of the first stage: progress starts at exactly base
                frac = (t - start) / max(end - start, 1)
            else:  # the previous span's last frame was the keyframe with value base
                frac = (t - start + 1) / (end - start + 1)
            labels[start : end + 1] = base + frac / m
            level = (sp.stage + 1) / m
        else:
            length = float(typical_stage_len[sp.stage]) if typical_stage_len is not None else float(end - start + 1)
            frac = np.minimum((t - start + (0 if i == 0 else 1)) / max(length, 1.0), 1.0) * incomplete_cap
            labels[start : end + 1] = base + frac / m
            level = labels[end]
        prev_end = end
    labels[prev_end + 1 :] = 1.0 if success else level
    return np.clip(labels, 0.0, 1.0).astype(np.float32)


def hop_label(phi_p: np.ndarray | float, phi_q: np.ndarray | float) -> np.ndarray:
    """Relative hop from BEFORE progress ``phi_p`` to AFTER progress ``phi_q``; broadcasts; values in [-1, 1]."""
    p = np.asarray(phi_p, dtype=np.float64)
    q = np.asarray(phi_q, dtype=np.float64)
    d = q - p
    fwd = d / np.maximum(1.0 - p, _EPS)
    bwd = d / np.maximum(p, _EPS)
    h = np.where(d >= 0, fwd, bwd)
    return np.clip(h, -1.0, 1.0).astype(np.float32)


def bin_centers(num_bins: int) -> np.ndarray:
    """(K,) evenly spaced hop bin centres covering [-1, 1] (K odd keeps 0 as a centre)."""
    if num_bins < 3:
        raise ValueError(f"num_bins must be >= 3, got {num_bins}")
    return np.linspace(-1.0, 1.0, num_bins, dtype=np.float32)


def two_hot(values: np.ndarray, num_bins: int) -> np.ndarray:
    """Soft "two-hot" targets: each value splits its mass between the two neighbouring bin centres.

    Unlike hard binning, the expectation of the target distribution equals the value exactly, so the expected
    hop of a well-fit classifier is unbiased even for hops much smaller than a bin (incremental steps are tiny).

    Returns (N, K) float32 rows summing to 1.
    """
    v = np.clip(np.asarray(values, dtype=np.float64).reshape(-1), -1.0, 1.0)
    pos = (v + 1.0) / 2.0 * (num_bins - 1)
    lo = np.clip(np.floor(pos).astype(np.int64), 0, num_bins - 2)
    w_hi = pos - lo
    out = np.zeros((v.shape[0], num_bins), dtype=np.float32)
    rows = np.arange(v.shape[0])
    out[rows, lo] = 1.0 - w_hi
    out[rows, lo + 1] += w_hi
    return out
