"""Task stages of a demo: automatic discovery from frozen embeddings, or user keyframes; and progress labels.

Discovery is change-point detection by dynamic programming (optimal partitioning): the embedding sequence
(PCA-reduced, lightly smoothed) is cut into K contiguous segments minimising the summed within-segment residual
of a per-segment model (``"linear"``: a straight line in time per segment, i.e. one motion per stage;
``"constant"``: a mean per segment). K is chosen by a BIC-like penalty on the log residual:
``K* = argmin_K log(C_K) + penalty * K`` -- an extra stage must cut the residual by a factor ``exp(-penalty)``.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Literal

import numpy as np
from scipy.ndimage import gaussian_filter1d

from robo_reward.adapt.errors import InputError
from robo_reward.data.episodes import StageSpan

logger = logging.getLogger(__name__)

SegmentModel = Literal["linear", "constant"]


def _segment_costs(x: np.ndarray, model: SegmentModel) -> np.ndarray:
    """cost[i, j] = residual of fitting frames i..j-1 (j > i) with one segment model.  x: (T, D) -> (T+1, T+1)."""
    t_len = x.shape[0]
    t = np.arange(t_len, dtype=np.float64)
    z = np.zeros((1, x.shape[1]))
    s1 = np.concatenate([z, np.cumsum(x, 0)])  # (T+1, D) sum e
    s2 = np.concatenate([[0.0], np.cumsum((x * x).sum(1))])  # (T+1,) sum |e|^2
    st = np.concatenate([z, np.cumsum(t[:, None] * x, 0)])  # (T+1, D) sum t e
    c1 = np.concatenate([[0.0], np.cumsum(t)])
    c2 = np.concatenate([[0.0], np.cumsum(t * t)])
    cost = np.full((t_len + 1, t_len + 1), np.inf)
    for i in range(t_len):
        j = np.arange(i + 1, t_len + 1)
        n = (j - i).astype(np.float64)
        se = s1[j] - s1[i]  # (J, D)
        res = (s2[j] - s2[i]) - (se * se).sum(1) / n
        if model == "linear":
            tbar = (c1[j] - c1[i]) / n
            stt = (c2[j] - c2[i]) - n * tbar**2  # sum (t - tbar)^2
            cov = (st[j] - st[i]) - tbar[:, None] * se  # sum (t - tbar)(e - ebar)
            with np.errstate(divide="ignore", invalid="ignore"):
                res = res - np.where(stt > 0, (cov * cov).sum(1) / np.maximum(stt, 1e-12), 0.0)
        cost[i, j] = np.maximum(res, 0.0)
    return cost


def optimal_partitions(cost: np.ndarray, max_segments: int, min_len: int) -> tuple[np.ndarray, list[list[int]]]:
    """Best partition of T frames into k = 1..max_segments segments of >= min_len frames.

    Returns:
        total: (max_segments,) the minimal summed cost for each k (inf where infeasible).
        bounds: bounds[k-1] = the segment start frames for k segments (first is 0).
    """
    t_len = cost.shape[0] - 1
    best = np.full((max_segments + 1, t_len + 1), np.inf)
    arg = np.zeros((max_segments + 1, t_len + 1), dtype=np.int64)
    best[0, 0] = 0.0
    for k in range(1, max_segments + 1):
        for j in range(k * min_len, t_len + 1):
            i = np.arange((k - 1) * min_len, j - min_len + 1)
            if i.size == 0:
                continue
            vals = best[k - 1, i] + cost[i, j]
            m = int(np.argmin(vals))
            best[k, j], arg[k, j] = vals[m], i[m]
    bounds: list[list[int]] = []
    for k in range(1, max_segments + 1):
        starts, j = [], t_len
        if np.isfinite(best[k, t_len]):
            for kk in range(k, 0, -1):
                j = int(arg[kk, j])
                starts.append(j)
        bounds.append(sorted(starts))
    return best[1:, t_len], bounds


def _reduce(emb: np.ndarray, dims: int, smooth: float) -> np.ndarray:
    """Centre, PCA-reduce to ``dims`` and smooth over time.  (T, D) -> (T, min(dims, T, D)) float64."""
    x = emb.astype(np.float64)
    x = x - x.mean(0, keepdims=True)
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    k = min(dims, len(s))
    x = u[:, :k] * s[:k]
    if smooth > 0:
        x = gaussian_filter1d(x, smooth, axis=0, mode="nearest")
    return x


def discover_stages(
    emb: np.ndarray,
    max_segments: int = 8,
    min_len: int | None = None,
    penalty: float = 0.7,
    model: SegmentModel = "linear",
    pca_dims: int = 32,
    smooth: float = 1.0,
) -> list[StageSpan]:
    """Split a demo into stages from its frame embeddings.

    Args:
        emb: (T, D) frame embeddings (views concatenated along D for multi-view demos).
        max_segments: the most stages considered.
        min_len: the fewest frames per stage (default max(3, T // 25)).
        penalty: cost per extra stage on the log residual (higher -> fewer stages).
        model: per-segment model, "linear" (one motion per stage) or "constant" (one state per stage).

    Returns:
        Contiguous stages ``step_1 .. step_K`` covering frames 0..T-1.
    """
    if emb.ndim != 2 or emb.shape[0] == 0:
        raise ValueError(f"discover_stages: expected (T, D) embeddings with T > 0, got shape {emb.shape}")
    t_len = emb.shape[0]
    min_len = max(3, t_len // 25) if min_len is None else max(1, min_len)
    max_k = max(1, min(max_segments, t_len // min_len))
    if max_k == 1:
        return [StageSpan("step_1", 0, t_len - 1)]
    x = _reduce(emb, pca_dims, smooth)
    total, bounds = optimal_partitions(_segment_costs(x, model), max_k, min_len)
    floor = 1e-9 * max(float(total[0]), 1e-12)
    score = np.log(np.maximum(total, floor)) + penalty * np.arange(1, max_k + 1)
    score[~np.isfinite(total)] = np.inf
    k = int(np.argmin(score)) + 1
    starts = bounds[k - 1]
    ends = [s - 1 for s in starts[1:]] + [t_len - 1]
    logger.info("discovered %d stage(s) at frames %s (log-residual %s)", k, starts, np.round(np.log(total + floor), 2).tolist())
    return [StageSpan(f"step_{i + 1}", int(s), int(e)) for i, (s, e) in enumerate(zip(starts, ends))]


def load_keyframes(path: str | os.PathLike[str], num_frames: int) -> list[StageSpan]:
    """Read ``[{"stage": name, "start_frame": i, "end_frame": j}, ...]`` (inclusive, ordered, non-overlapping).

    Raises:
        InputError: missing file, invalid JSON, wrong fields, frames out of range, overlapping or unordered stages.
    """
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise InputError(f"{path}: keyframes file not found") from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: keyframes are not valid JSON ({exc})") from exc
    if isinstance(raw, dict) and "stages" in raw:  # accept an episode meta.json too
        raw = raw["stages"]
    if not isinstance(raw, list) or not raw:
        raise InputError(f'{path}: expected a non-empty JSON list [{{"stage": name, "start_frame": i, "end_frame": j}}, ...]')
    stages: list[StageSpan] = []
    for n, item in enumerate(raw):
        if not isinstance(item, dict) or not {"stage", "start_frame", "end_frame"} <= set(item):
            raise InputError(f"{path}: entry {n} must have keys stage, start_frame, end_frame; got {item!r}")
        try:
            s, e = int(item["start_frame"]), int(item["end_frame"])
            stages.append(StageSpan(str(item["stage"]), s, e))
        except (TypeError, ValueError) as exc:
            raise InputError(f"{path}: entry {n}: {exc}") from exc
        if e >= num_frames:
            raise InputError(f"{path}: stage {item['stage']!r} ends at frame {e} but the demo has {num_frames} frames (0..{num_frames - 1})")
        if n and s <= stages[-2].end_frame:
            raise InputError(
                f"{path}: stage {item['stage']!r} starts at {s}, not after the previous stage's end {stages[-2].end_frame}; "
                "stages must be ordered and not overlap"
            )
    return stages


def progress_labels(stages: list[StageSpan], num_frames: int) -> np.ndarray:
    """Stage-based progress targets: in stage i of N, progress goes linearly from i/N to (i+1)/N.

    Frames before the first stage get 0, after the last 1, in gaps between stages linear.  Returns (T,) float32.
    """
    n = len(stages)
    xs: list[float] = []
    ys: list[float] = []
    for i, st in enumerate(stages):
        pts = [(st.start_frame, i / n), (st.end_frame, (i + 1) / n)] if st.end_frame > st.start_frame else [(st.start_frame, (i + 0.5) / n)]
        for x, y in pts:
            if not xs or x > xs[-1]:
                xs.append(float(x))
                ys.append(y)
    if len(xs) == 1:
        xs, ys = [0.0, float(max(num_frames - 1, 1))], [0.0, 1.0]
    return np.interp(np.arange(num_frames, dtype=np.float64), xs, ys).astype(np.float32)
