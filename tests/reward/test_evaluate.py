import json

import numpy as np
import pytest

from robo_reward.reward.calibration import classify_outcomes, fit_outcome_thresholds, fit_temperature
from robo_reward.reward.evaluate import auroc, evaluate_embedded, plot_curves, voc
from robo_reward.reward.train import calibrate, split_episodes


def test_auroc_and_voc_hand_cases():
    assert auroc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert auroc([0.5], [0.5]) == 0.5
    assert auroc([0.1], [0.9, 0.2]) == 0.0
    assert voc(np.arange(5.0)) == pytest.approx(1.0)
    assert voc(-np.arange(5.0)) == pytest.approx(-1.0)
    assert voc(np.ones(4)) == 0.0


def test_thresholds_and_temperature():
    thr = fit_outcome_thresholds([0.95, 0.9, 0.5, 0.45, 0.1, 0.05], ["success"] * 2 + ["partial"] * 2 + ["failure"] * 2)
    assert list(classify_outcomes([0.97, 0.6, 0.0], thr)) == ["success", "partial", "failure"]
    assert 0.5 < thr["success"] < 0.9 and 0.1 < thr["partial"] < 0.45
    rng = np.random.default_rng(0)
    z = rng.normal(size=4000) * 3
    y = (rng.random(4000) < 1 / (1 + np.exp(-z / 3))).astype(float)  # logits 3x overconfident
    assert fit_temperature(z, y) == pytest.approx(3.0, rel=0.15)
    assert fit_temperature(z, np.ones_like(z)) == 1.0


def test_evaluate_embedded_on_synthetic(tmp_path, scorer, synth):
    train, test, texts = synth
    _, thr = calibrate(scorer, train, train, texts)
    res, curves = evaluate_embedded(scorer, test, texts, thr)
    assert res["voc_success"] > 0.9 and res["voc_reversed"] < -0.9
    assert res["auroc_success"] > 0.9
    assert set(res["views"]) == {"all", "front", "side", "wrist"}
    assert sum(sum(r.values()) for r in res["confusion"].values()) == len(test)
    assert res["outcome_accuracy"] >= 0.5
    json.dumps(res)
    png = plot_curves(curves, tmp_path / "c.png")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_per_task_figures_from_the_shared_score_cache_equal_a_fresh_evaluation(scorer, synth):
    train, test, texts = synth
    _, thr = calibrate(scorer, train, train, texts)
    cache: dict = {}
    evaluate_embedded(scorer, test, texts, thr, score_cache=cache)
    n_scored = len(cache)
    for task in sorted({e.task for e in test}):
        eps = [e for e in test if e.task == task]
        cached, _ = evaluate_embedded(scorer, eps, texts, thr, score_cache=cache)
        fresh, _ = evaluate_embedded(scorer, eps, texts, thr)
        assert json.dumps(cached, sort_keys=True) == json.dumps(fresh, sort_keys=True)
    assert len(cache) == n_scored  # the per-task calls scored nothing anew


def test_split_keeps_two_successes_for_training(synth):
    train, _, _ = synth
    tr, va = split_episodes(train, 0.5, 0)
    assert len(tr) + len(va) == len(train)
    for task in ("a", "b"):
        assert sum(e.task == task and e.outcome == "success" for e in tr) >= 2
    assert not {e.name for e in tr} & {e.name for e in va}


def test_three_way_rule_uses_peak_for_partial_vs_failure():
    from robo_reward.reward.calibration import peak_progress

    # a dropped object: high peak, low final -> partial; a failure never gets far
    finals = [0.95, 0.9, 0.2, 0.15, 0.2, 0.1]
    peaks = [0.97, 0.95, 0.6, 0.55, 0.25, 0.15]
    y = ["success", "success", "partial", "partial", "failure", "failure"]
    thr = fit_outcome_thresholds(finals, y, peaks)
    assert set(thr) == {"success", "partial_peak"}
    assert list(classify_outcomes(finals, thr, peaks)) == y
    assert 0.25 < thr["partial_peak"] < 0.55 and 0.2 < thr["success"] < 0.9
    # final progress alone cannot separate these partials from failures
    assert np.mean(classify_outcomes(finals, fit_outcome_thresholds(finals, y)) == np.asarray(y)) < 1.0
    with pytest.raises(ValueError, match="pass peaks"):
        classify_outcomes(finals, thr)
    # the median of equally good thresholds: halfway in the widest gap, not at its edge
    thr2 = fit_outcome_thresholds([0.0, 1.0], ["failure", "success"], [0.0, 1.0])
    assert thr2["success"] == pytest.approx(0.5)
    # peak = 90th percentile: one-frame spikes do not count
    assert peak_progress(np.r_[np.zeros(19), 1.0]) < 0.2
    assert peak_progress(np.r_[np.zeros(10), np.full(10, 0.6)]) == pytest.approx(0.6)


def test_thresholds_weigh_outcome_classes_alike():
    """Nine partials and three failures: plain accuracy buys two more partials with two failures (10/12 right, one
    failure in three recognised); balanced accuracy (the default) recognises every failure at the cost of three
    partials, which is what a 20 / 20 / 20 evaluation, or a user asking "did it fail?", rewards."""
    peaks = [0.95] * 3 + [0.2, 0.25, 0.27, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65] + [0.1, 0.3, 0.32]
    finals = [0.95] * 3 + [0.2] * 12
    y = np.array(["success"] * 3 + ["partial"] * 9 + ["failure"] * 3)
    plain = fit_outcome_thresholds(finals, y, peaks, balanced=False)
    bal = fit_outcome_thresholds(finals, y, peaks)
    assert 0.1 < plain["partial_peak"] < 0.2 and 0.32 < bal["partial_peak"] < 0.4

    def recall(thr):
        pred = classify_outcomes(finals, thr, peaks)
        return {c: float(np.mean(pred[y == c] == c)) for c in ("success", "partial", "failure")}

    assert recall(plain) == pytest.approx({"success": 1.0, "partial": 1.0, "failure": 1 / 3})
    assert recall(bal) == pytest.approx({"success": 1.0, "partial": 6 / 9, "failure": 1.0})


def test_per_task_thresholds_where_tasks_end_at_different_levels():
    """Task 'a' ends its successes at 0.7, task 'b' its partials there: no one global threshold gets both right,
    per-task thresholds do; a task with too few calibration episodes per class keeps the global ones."""
    fa = [0.72, 0.70, 0.68, 0.40, 0.38, 0.35, 0.10, 0.08, 0.05]
    fb = [0.98, 0.96, 0.95, 0.72, 0.70, 0.68, 0.30, 0.28, 0.25]
    y = ["success"] * 3 + ["partial"] * 3 + ["failure"] * 3
    finals, outcomes, tasks = fa + fb, y + y, ["a"] * 9 + ["b"] * 9
    glob = fit_outcome_thresholds(finals, outcomes)
    assert "per_task" not in glob
    assert np.mean(classify_outcomes(finals, glob) == np.asarray(outcomes)) < 0.9
    thr = fit_outcome_thresholds(finals, outcomes, tasks=tasks)
    assert set(thr["per_task"]) == {"a", "b"}
    assert thr["success"] == glob["success"] and thr["partial"] == glob["partial"]
    assert list(classify_outcomes(finals, thr, tasks=tasks)) == outcomes
    # without tasks, or for a task without its own thresholds, the global rule applies
    assert list(classify_outcomes(finals, thr)) == list(classify_outcomes(finals, glob))
    assert list(classify_outcomes([0.72], thr, tasks=["c"])) == list(classify_outcomes([0.72], glob))
    # two episodes per class are too few for task 'b' (min_per_class=3): only 'a' gets its own
    keep = [i for i in range(18) if i < 9 or (i - 9) % 3 != 2]
    thr2 = fit_outcome_thresholds([finals[i] for i in keep], [outcomes[i] for i in keep], tasks=[tasks[i] for i in keep])
    assert set(thr2["per_task"]) == {"a"}
    with pytest.raises(ValueError, match="one task per episode"):
        fit_outcome_thresholds(finals, outcomes, tasks=tasks[:-1])


def test_calibrate_gives_per_task_thresholds_only_when_asked(scorer, synth):
    """train-reward asks for per-task thresholds only when it calibrates on held-out episodes."""
    from robo_reward.reward.synthetic import SyntheticSpec, make_synthetic_episodes

    train, _, texts = synth
    calib, _ = make_synthetic_episodes(("a", "b"), {"success": 3, "partial": 3, "failure": 3}, SyntheticSpec(), seed=2)
    _, thr = calibrate(scorer, calib, train, texts)
    _, thr_global = calibrate(scorer, calib, train, texts, per_task=False)
    assert set(thr["per_task"]) == {"a", "b"}
    assert "per_task" not in thr_global and thr_global["success"] == thr["success"]
