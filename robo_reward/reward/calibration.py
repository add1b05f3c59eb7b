"""Post-hoc calibration: success-probability temperature and outcome thresholds on progress curves."""

from __future__ import annotations

import logging
from typing import Sequence

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


def fit_outcome_thresholds(finals: Sequence[float], outcomes: Sequence[str]) -> dict[str, float]:
    """Thresholds on final progress for success / partial / failure, maximising accuracy on the given episodes.

    Rule: ``final >= success`` -> success, ``final >= partial`` -> partial, else failure. Classes absent from the
    training outcomes get thresholds that never select them.
    """
    f = np.asarray(finals, np.float64)
    y = np.asarray(outcomes)
    u = np.unique(f)
    grid = np.concatenate([[u[0] - 1e-6], (u[:-1] + u[1:]) / 2, [u[-1] + 1e-6]]) if u.size else np.array([0.5])
    best = (-1.0, 0.9, 0.3)
    for ts in grid:
        for tp in grid[grid <= ts]:
            acc = float(np.mean(classify_outcomes(f, {"success": ts, "partial": tp}) == y))
            if acc > best[0] + 1e-12:
                best = (acc, float(ts), float(tp))
    _, ts, tp = best
    return {"success": ts, "partial": tp}


def classify_outcomes(finals: np.ndarray | Sequence[float], thresholds: dict[str, float]) -> np.ndarray:
    """(N,) final progress -> (N,) outcome labels using :func:`fit_outcome_thresholds` thresholds."""
    f = np.asarray(finals, np.float64)
    return np.where(f >= thresholds["success"], "success", np.where(f >= thresholds["partial"], "partial", "failure"))
