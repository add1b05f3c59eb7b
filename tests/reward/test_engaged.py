"""The engaged head: per-frame stage labels, its training target, the 3-way rule that reads it, old checkpoints."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from robo_reward.reward.calibration import (
    classify_features,
    engaged_peak,
    fit_outcome_rule,
    outcome_features,
)
from robo_reward.reward.checkpoint import load_model_files, save_reward_model
from robo_reward.reward.data import EmbeddedEpisode, PairSampler, frame_stages
from robo_reward.reward.evaluate import auroc
from robo_reward.reward.model import HopModel, RewardModelConfig
from robo_reward.reward.trainer import LoopConfig, batch_to_torch, hop_loss

from .conftest import VIEWS


def test_frame_stages_follow_the_spans_and_regressions():
    order = ["approach", "contact", "push"]
    spans = [("approach", 0, 3), ("contact", 4, 5), ("approach", 6, 7), ("contact", 8, 8), ("push", 9, 11)]
    assert frame_stages(spans, 12, order).tolist() == [0, 0, 0, 0, 1, 1, 0, 0, 1, 2, 2, 2]
    # a frame past the last span keeps its stage; a span past the end is cut
    assert frame_stages([("approach", 0, 1), ("contact", 2, 2)], 5, order).tolist() == [0, 0, 1, 1, 1]
    assert frame_stages([("approach", 0, 9)], 3, order).tolist() == [0, 0, 0]


def _episode(name: str, stage: np.ndarray | None, t: int = 8) -> EmbeddedEpisode:
    rng = np.random.default_rng(len(name))
    return EmbeddedEpisode(name, "task", "do it", "success", {"v": rng.normal(size=(t, 4)).astype(np.float32)},
                           np.linspace(0, 1, t, dtype=np.float32), stage=stage)


def test_sampler_engaged_target_is_the_after_frames_stage():
    t = 8
    # frame value encodes the frame index, so the AFTER frame of each query can be read back
    ep = _episode("a", np.array([0, 0, 0, 1, 1, 2, 2, 2]), t)
    ep.emb["v"][:] = np.arange(t, dtype=np.float32)[:, None]
    unlabelled = _episode("b", None, t)
    unlabelled.emb["v"][:] = 100.0
    sampler = PairSampler([ep, unlabelled], ["v"], {"task": np.zeros(3, np.float32)}, view_dropout=0.0)
    b = sampler.sample(256, np.random.default_rng(0))
    labelled = b.after[:, 0, 0] < 50
    q = b.after[labelled, 0, 0].astype(int)
    assert b.engaged_mask[labelled].all() and not b.engaged_mask[~labelled].any()
    np.testing.assert_array_equal(b.engaged[labelled], (ep.stage[q] >= 1).astype(np.float32))
    assert 0 < b.engaged[labelled].mean() < 1


def test_engaged_loss_ignores_unlabelled_queries_and_keeps_the_head_in_the_graph():
    torch.manual_seed(0)
    model = HopModel(RewardModelConfig(hidden=16, heads=2, layers=1, num_bins=5, dropout=0.0), ("v",), 4, 3)
    sampler = PairSampler([_episode("a", None)], ["v"], {"task": np.zeros(3, np.float32)})
    t = batch_to_torch(sampler.sample(16, np.random.default_rng(0)), torch.device("cpu"))
    loss, m = hop_loss(model, t, 0.5, engaged_weight=1.0)
    assert m["engaged_loss"] == 0.0
    loss.backward()
    assert model.engaged_head.weight.grad is not None and float(model.engaged_head.weight.grad.abs().sum()) == 0.0
    # labelled queries: the loss is the BCE of the head against the targets
    t["engaged_mask"][:] = True
    t["engaged"][:] = 1.0
    _, m1 = hop_loss(model, t, 0.5, engaged_weight=1.0)
    out = model(t["before"], t["after"], t["start"], t["goal"], t["goal_mask"], t["view_mask"], t["text"], t["text_mask"])
    expect = torch.nn.functional.binary_cross_entropy_with_logits(out["engaged_logit"], t["engaged"]).item()
    assert m1["engaged_loss"] == pytest.approx(expect, rel=1e-5)


def test_trained_engaged_head_tells_stages_apart(synth, scorer, refs):
    """After 200 steps on the tiny synthetic set, frames past the first stage read higher than first-stage
    frames of held-out episodes (frame-level AUROC), and the whole-episode score carries the curve."""
    _, test, _ = synth
    on, off = [], []
    for ep in test:
        s = scorer.score_embeddings(ep.emb, refs[ep.task])
        assert s.engaged is not None and s.engaged.shape == (ep.num_frames,)
        assert ((s.engaged >= 0) & (s.engaged <= 1)).all()
        on += s.engaged[ep.stage >= 1].tolist()
        off += s.engaged[ep.stage == 0].tolist()
    assert auroc(np.asarray(on), np.asarray(off)) > 0.9


def test_engaged_rule_separates_what_peak_progress_cannot():
    """Partials that touched the object for a frame and failures that hovered near it reach the same peak progress;
    only the engaged peak tells them apart. The rule fit on them calls all six right; the peak-progress rule, kept
    under "compare", cannot."""
    rng = np.random.default_rng(0)
    feats, outcomes = [], []
    for outcome, final, engaged in [("success", 0.95, 0.99)] * 4 + [("partial", 0.2, 0.9)] * 4 + [("failure", 0.2, 0.1)] * 4:
        prog = np.full(20, final)
        prog[5] = 0.3  # the same peak for partials and failures
        eng = np.full(20, 0.05)
        eng[7] = engaged + rng.uniform(-0.02, 0.02)  # one engaged frame
        feats.append(outcome_features(prog, np.zeros(20), eng))
        outcomes.append(outcome)
    assert feats[4]["engaged"] == pytest.approx(engaged_peak(np.r_[np.full(19, 0.05), feats[4]["engaged"]]))
    th = fit_outcome_rule(feats, outcomes, None, "engaged")
    assert "partial_engaged" in th and "partial_peak" in th["compare"]["peak"]
    assert list(classify_features(feats, th)) == outcomes
    assert np.mean(classify_features(feats, th["compare"]["peak"]) == np.asarray(outcomes)) < 0.8
    # the peak rule chosen: the engaged fit is the comparison
    th_p = fit_outcome_rule(feats, outcomes, None, "peak")
    assert "partial_peak" in th_p and "partial_engaged" in th_p["compare"]["engaged"]
    # without engaged curves (a model without the head): the peak rule, nothing to compare
    plain = [dict(f, engaged=None) for f in feats]
    th_none = fit_outcome_rule(plain, outcomes, None, "engaged")
    assert "partial_peak" in th_none and "compare" not in th_none
    with pytest.raises(ValueError, match="engaged"):
        classify_features(plain, th)
    with pytest.raises(ValueError, match="outcome rule"):
        fit_outcome_rule(feats, outcomes, None, "final")


def test_model_directory_without_the_engaged_head_still_loads(tmp_path, refs):
    cfg = RewardModelConfig(hidden=16, heads=2, layers=1, num_bins=5, engaged_head=False)
    model = HopModel(cfg, VIEWS, 32, 24)
    d = save_reward_model(tmp_path / "m", model, refs)
    conf = json.loads((d / "config.json").read_text())
    del conf["model"]["engaged_head"]  # as written before the head existed
    (d / "config.json").write_text(json.dumps(conf))
    loaded, _, _ = load_model_files(d)
    assert loaded.engaged_head is None
    new = HopModel(RewardModelConfig(hidden=16, heads=2, layers=1, num_bins=5), VIEWS, 32, 24)
    d2 = save_reward_model(tmp_path / "m2", new, refs)
    assert load_model_files(d2)[0].engaged_head is not None
