"""Post-hoc calibration: success-probability temperature and outcome thresholds on progress curves."""

from __future__ import annotations

import logging
from typing import Any, Sequence

import numpy as np
from scipy.optimize import minimize_scalar

logger = logging.getLogger(__name__)

OUTCOME_CLASSES = ("success", "partial", "failure")


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """Temperature T > 0 minimising the NLL of ``sigmoid(logits / T)`` against binary ``labels`` (both (N,)).

    Returns 1.0 when the labels are all one class (nothing to calibrate on).
    """
    z = np.asarray(logits, np.float64).reshape(-1)
    y = np.asarray(labels, np.float64).reshape(-1)
    if z.size == 0 or y.min() == y.max():
        return 1.0

    def nll(log_t: float) -> float:
        s = z / np.exp(log_t)
        return float(np.mean(np.logaddexp(0.0, s) - y * s))

    res = minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded")
    return float(np.exp(res.x))


def curve_features(progress: np.ndarray, success_prob: np.ndarray, tail: int = 3) -> tuple[float, float]:
    """(final progress, final success probability), each averaged over the last ``tail`` frames."""
    k = max(1, min(tail, len(progress)))
    return float(np.mean(progress[-k:])), float(np.mean(success_prob[-k:]))


def peak_progress(progress: np.ndarray, q: float = 90.0) -> float:
    """The highest progress an episode held: the ``q``-th percentile of its (T,) progress curve.

    A percentile rather than the max so that a one-frame spike is not read as a reached sub-goal. The recorder
    calls an episode ``partial`` when it reached the second stage at some point (even if it then dropped the object),
    so the peak, not the final value, separates partial from failed attempts.
    """
    p = np.asarray(progress, np.float64)
    if p.size == 0:
        raise ValueError("peak_progress needs a non-empty progress curve")
    return float(np.percentile(p, q))


#: Keys of the partial / failure threshold: on the final progress, on the peak progress, on the peak of the engaged
#: head's probability (:func:`fit_outcome_thresholds`).
PARTIAL_KEYS = ("partial", "partial_peak", "partial_engaged")
#: Rules of :func:`fit_outcome_rule`.
OUTCOME_RULES = ("engaged", "peak")


def engaged_peak(engaged: np.ndarray) -> float:
    """The highest engaged probability of an episode's (T,) curve: the maximum, not a percentile, because a partial
    attempt is one that passed the first stage at *some* frame, and on push such a touch can last one to five
    frames of seventy (the recorder's push partials)."""
    e = np.asarray(engaged, np.float64)
    if e.size == 0:
        raise ValueError("engaged_peak needs a non-empty curve")
    return float(e.max())


def outcome_features(progress: np.ndarray, success_prob: np.ndarray, engaged: np.ndarray | None = None
                     ) -> dict[str, float]:
    """An episode's features for the 3-way call: ``final`` and ``peak`` progress, ``engaged`` peak (or None)."""
    return {"final": curve_features(progress, success_prob)[0], "peak": peak_progress(progress),
            "engaged": None if engaged is None else engaged_peak(engaged)}


def fit_outcome_rule(feats: Sequence[dict[str, float]], outcomes: Sequence[str], tasks: Sequence[str] | None,
                     rule: str = "peak") -> dict[str, Any]:
    """Thresholds for the 3-way call from :func:`outcome_features` rows, by ``rule``: ``"engaged"`` (partial vs
    failure on the engaged head's peak; needs every row's engaged peak, else falls back) or ``"peak"`` (on the
    peak progress). The rule not chosen is fit too and kept under ``"compare"``, so that an evaluation reports
    both on the same model."""
    if rule not in OUTCOME_RULES:
        raise ValueError(f"outcome rule must be one of {OUTCOME_RULES}, got {rule!r}")
    finals = [f["final"] for f in feats]
    by_peak = fit_outcome_thresholds(finals, outcomes, [f["peak"] for f in feats], tasks)
    if any(f["engaged"] is None for f in feats) or not feats:
        return by_peak
    by_engaged = fit_outcome_thresholds(finals, outcomes, [f["engaged"] for f in feats], tasks,
                                        peak_key="partial_engaged")
    main, other = (by_engaged, by_peak) if rule == "engaged" else (by_peak, by_engaged)
    return {**main, "compare": {"engaged" if rule == "peak" else "peak": other}}


def fit_outcome_thresholds(finals: Sequence[float], outcomes: Sequence[str],
                           peaks: Sequence[float] | None = None, tasks: Sequence[str] | None = None,
                           min_per_class: int = 3, balanced: bool = True, peak_key: str = "partial_peak"
                           ) -> dict[str, Any]:
    """Thresholds for the 3-way success / partial / failure call, maximising accuracy on the given episodes.

    ``balanced``: accuracy with every outcome class weighted equally (balanced accuracy), so that the thresholds
    do not follow the class mix of the calibration episodes. A mixed recording holds about half successes and few
    failures; fit by plain accuracy, push's partial/failure threshold sat low, trading failures for the more
    numerous partials, while the 3-way protocol (20 / 20 / 20 per task) and a user asking "did it fail?" weigh the
    classes alike (sim suite, 300 training episodes: 0.917 -> 0.923 on the balanced test set).

    Rule: ``final >= success`` -> success; else ``peak >= partial_peak`` -> partial (with ``peaks``), or
    ``final >= partial`` (without); else failure. ``peaks`` may be another per-episode peak, named by
    ``peak_key``: ``"partial_engaged"`` for the peak of the engaged head's probability. Among equally accurate
    thresholds the median one is taken (the widest margin on both sides). Classes absent from the outcomes get thresholds that never select them.

    With ``tasks`` (one name per episode) each task whose episodes hold every outcome of the whole set, at least
    ``min_per_class`` of each, also gets its own thresholds under ``"per_task"``; other tasks use the global ones.
    Tasks differ in how far a partial attempt gets and how close to 1 a success ends (held-out 3-way accuracy
    0.847 -> 0.917 on the sim suite with 300 training episodes; push, with 2 held-out failures, kept the global
    pair, and its own fit on those would have scored 0.70 against the global 0.82: a fit on one or two episodes
    of a class is mostly noise).
    """
    f = np.asarray(finals, np.float64)
    y = np.asarray(outcomes)
    pk = f if peaks is None else np.asarray(peaks, np.float64)
    if pk.shape != f.shape:
        raise ValueError(f"peaks has shape {pk.shape} but finals has {f.shape}; give one value per episode")
    if peak_key not in PARTIAL_KEYS[1:]:
        raise ValueError(f"peak_key must be one of {PARTIAL_KEYS[1:]}, got {peak_key!r}")
    key = "partial" if peaks is None else peak_key
    out: dict[str, Any] = dict(_fit(f, y, pk, key, balanced))
    if tasks is None:
        return out
    t = np.asarray(tasks)
    if t.shape != f.shape:
        raise ValueError(f"tasks has shape {t.shape} but finals has {f.shape}; give one task per episode")
    classes = set(y.tolist())
    per_task = {}
    for task in sorted(set(t.tolist())):
        m = t == task
        counts = {c: int(np.sum(y[m] == c)) for c in classes}
        if len(classes) > 1 and min(counts.values()) >= min_per_class:
            per_task[task] = _fit(f[m], y[m], pk[m], key, balanced)
    if per_task:
        out["per_task"] = per_task
    return out


def _fit(f: np.ndarray, y: np.ndarray, pk: np.ndarray, key: str, balanced: bool = True) -> dict[str, float]:
    grid_s, grid_p = _grid(f), _grid(pk)
    w = np.full(len(y), 1.0 / max(len(y), 1))
    if balanced:
        for c in set(y.tolist()):
            w[y == c] = 1.0 / np.sum(y == c)
    acc = np.array([[np.sum(w * (_classify(f, pk, ts, tp) == y)) for tp in grid_p] for ts in grid_s])
    best_s = np.flatnonzero(acc.max(1) >= acc.max() - 1e-12)
    i = int(best_s[len(best_s) // 2])
    best_p = np.flatnonzero(acc[i] >= acc.max() - 1e-12)
    j = int(best_p[len(best_p) // 2])
    return {"success": float(grid_s[i]), key: float(grid_p[j])}


def _grid(x: np.ndarray) -> np.ndarray:
    u = np.unique(x)
    if not u.size:
        return np.array([0.5])
    return np.concatenate([[u[0] - 1e-6], (u[:-1] + u[1:]) / 2, [u[-1] + 1e-6]])


def classify_features(feats: Sequence[dict[str, float]], thresholds: dict[str, Any],
                      tasks: Sequence[str] | None = None) -> np.ndarray:
    """:func:`classify_outcomes` on :func:`outcome_features` rows."""
    eng = None if any(f["engaged"] is None for f in feats) else [f["engaged"] for f in feats]
    return classify_outcomes([f["final"] for f in feats], thresholds, [f["peak"] for f in feats], tasks, eng)


def classify_outcomes(finals: np.ndarray | Sequence[float], thresholds: dict[str, Any],
                      peaks: np.ndarray | Sequence[float] | None = None,
                      tasks: np.ndarray | Sequence[str] | None = None,
                      engaged: np.ndarray | Sequence[float] | None = None) -> np.ndarray:
    """(N,) final progress (and (N,) peak progress or (N,) peak engaged probability) -> (N,) outcome labels using
    :func:`fit_outcome_thresholds`.

    With ``tasks``, episodes of a task that has its own thresholds (``thresholds["per_task"]``) use them."""
    f = np.asarray(finals, np.float64)
    if "partial_engaged" in thresholds:
        if engaged is None:
            raise ValueError("these thresholds separate partial from failure by the engaged head's peak; pass "
                             "engaged= (the reward model's engaged probability peaks)")
        second, key = np.asarray(engaged, np.float64), "partial_engaged"
    elif "partial_peak" in thresholds:
        if peaks is None:
            raise ValueError("these thresholds separate partial from failure by peak progress; pass peaks=")
        second, key = np.asarray(peaks, np.float64), "partial_peak"
    else:
        second, key = f, "partial"
    per_task = thresholds.get("per_task") or {}
    if tasks is None or not per_task:
        return _classify(f, second, thresholds["success"], thresholds[key])
    t = np.asarray(tasks)
    if t.shape != f.shape:
        raise ValueError(f"tasks has shape {t.shape} but finals has {f.shape}; give one task per episode")
    rows = [per_task.get(x, thresholds) for x in t.tolist()]
    return _classify(f, second, np.array([r["success"] for r in rows]), np.array([r[key] for r in rows]))


def _classify(f: np.ndarray, second: np.ndarray, t_success: np.ndarray | float, t_partial: np.ndarray | float
              ) -> np.ndarray:
    return np.where(f >= t_success, "success", np.where(second >= t_partial, "partial", "failure"))
