import numpy as np
import pytest

from robo_reward.reward.labels import (
    Span, bin_centers, canonical_stage_order, hop_label, progress_labels, to_canonical_spans, two_hot,
)


def test_success_labels_are_piecewise_linear_between_keyframes():
    # 2 stages: frames 0..4 (stage 0), 5..8 (stage 1), 9 holds at the goal
    lab = progress_labels([Span(0, 0, 4), Span(1, 5, 8)], 10, 2, success=True)
    # K0 = 0 -> 0, K1 = 4 -> 0.5, K2 = 8 -> 1
    np.testing.assert_allclose(lab, [0, .125, .25, .375, .5, .625, .75, .875, 1.0, 1.0], atol=1e-6)


def test_failure_incomplete_stage_is_capped_and_uses_typical_length():
    # stage 0 completed at frame 3; stage 1 attempted for 6 frames, typical length 4, cap 0.5 -> at most 0.5 + 0.25
    lab = progress_labels([Span(0, 0, 3), Span(1, 4, 9)], 10, 2, success=False, typical_stage_len=[4, 4])
    np.testing.assert_allclose(lab[:4], [0, 1 / 6, 2 / 6, 0.5], atol=1e-6)
    np.testing.assert_allclose(lab[4:], [0.5625, 0.625, 0.6875, 0.75, 0.75, 0.75], atol=1e-6)


def test_regression_after_drop_restarts_from_lower_stage():
    # stage 0 done (0..1), stage 1 attempted (2..3) then dropped back to stage 0 (4..5)
    lab = progress_labels([Span(0, 0, 1), Span(1, 2, 3), Span(0, 4, 5)], 6, 2, False, [2, 2], incomplete_cap=0.5)
    assert lab[1] == pytest.approx(0.5)
    assert lab[3] == pytest.approx(0.5 + 0.5 * 0.5 * 1.0 * 0.5 * 2)  # two frames of a 2-frame stage, capped at 0.5
    assert lab[4] < lab[3] and lab[4] == pytest.approx(0.125)


def test_canonical_order_and_unknown_stage():
    order = canonical_stage_order([["reach", "grasp"], ["reach", "grasp", "lift"]])
    assert order == ["reach", "grasp", "lift"]
    with pytest.raises(ValueError, match="disagree"):
        canonical_stage_order([["reach", "grasp", "lift"], ["grasp", "reach"]])
    with pytest.raises(ValueError, match="not one of the task's stages"):
        to_canonical_spans([("fly", 0, 3)], order)


def test_hop_label_hand_computed():
    assert hop_label(0.2, 0.6) == pytest.approx(0.5)  # 0.4 of the remaining 0.8
    assert hop_label(0.8, 0.2) == pytest.approx(-0.75)  # 0.6 of the achieved 0.8 undone
    assert hop_label(0.0, 0.3) == pytest.approx(0.3)  # forward query: H = Phi_q
    assert hop_label(1.0, 0.3) == pytest.approx(-0.7)  # backward query: H = Phi_q - 1
    assert hop_label(0.5, 0.5) == 0.0
    h = hop_label(np.array([0.0, 1.0]), np.array([1.0, 0.0]))
    np.testing.assert_allclose(h, [1.0, -1.0])


def test_two_hot_is_unbiased():
    c = bin_centers(21)
    v = np.array([-1.0, -0.333, 0.0, 0.01, 0.77, 1.0])
    t = two_hot(v, 21)
    np.testing.assert_allclose(t.sum(1), 1.0, atol=1e-6)
    np.testing.assert_allclose(t @ c, v, atol=1e-6)
    assert (t > 0).sum(1).max() <= 2


def test_canonical_order_tolerates_regrasp_and_flicker_in_successes():
    clean = ["approach", "grasp", "lift", "carry", "stack"]
    regrasp = ["approach", "grasp", "approach", "grasp", "carry", "grasp", "lift", "carry", "lift", "carry", "stack"]
    flicker = ["approach", "grasp", "pull", "grasp", "approach", "grasp", "approach", "pull", "open"]
    assert canonical_stage_order([clean, clean, regrasp]) == clean
    assert canonical_stage_order([["approach", "grasp", "pull", "open"]] * 2 + [flicker]) == ["approach", "grasp", "pull", "open"]
    # one real disagreement among three successes is tolerated; two of three is not
    assert canonical_stage_order([clean, clean, ["grasp", "approach"]]) == clean
    with pytest.raises(ValueError, match="2 of 3 disagree"):
        canonical_stage_order([clean, ["grasp", "approach"], ["lift", "grasp"]])
