import numpy as np
import pytest
import torch

from robo_reward.reward.checkpoint import load_model_files, save_reward_model
from robo_reward.reward.data import Reference
from robo_reward.reward.evaluate import voc
from robo_reward.reward.scoring import ProgressScorer


def test_training_reduces_loss(trained):
    _, hist = trained
    assert hist[-1]["loss"] < 0.8 * hist[0]["loss"]


def test_success_ranks_above_its_reversal(scorer, refs, synth):
    _, test, _ = synth
    for ep in [e for e in test if e.outcome == "success"]:
        fwd = scorer.score_embeddings(ep.emb, refs[ep.task])
        rev = scorer.score_embeddings(ep.reversed().emb, refs[ep.task])
        assert voc(fwd.progress) > 0.8, ep.name
        assert voc(rev.progress) < -0.8, ep.name
        assert fwd.progress[-1] > rev.progress[-1] + 0.4
        for arr in (fwd.progress, fwd.success_prob):
            assert arr.min() >= 0 and arr.max() <= 1
        assert fwd.uncertainty.min() >= 0


def test_single_view_and_no_goal_work(scorer, refs, synth):
    _, test, _ = synth
    ep = next(e for e in test if e.outcome == "success")
    for view in ep.emb:
        s = scorer.score_embeddings({view: ep.emb[view]}, refs[ep.task])
        assert s.views == (view,) and voc(s.progress) > 0.5
    s = scorer.score_embeddings(ep.emb, refs[ep.task], use_goal=False)
    np.testing.assert_array_equal(s.p_forward, s.p_backward)


def test_several_references_average_the_per_reference_scores(scorer, synth):
    train, test, texts = synth
    from robo_reward.reward.data import other_references

    ep = next(e for e in test if e.outcome == "success")
    refs = other_references(ep, train, texts, k=3)
    assert len(refs) == 3 and len({r.source for r in refs}) == 3 and ep.name not in {r.source for r in refs}
    each = [scorer.score_embeddings(ep.emb, r) for r in refs]
    avg = scorer.score_embeddings(ep.emb, refs)
    for name in ("progress", "success_prob", "p_forward", "p_backward"):
        np.testing.assert_allclose(getattr(avg, name), np.mean([getattr(s, name) for s in each], 0), atol=1e-6)
    np.testing.assert_array_equal(scorer.score_embeddings(ep.emb, refs[:1]).progress, each[0].progress)
    with pytest.raises(ValueError, match="at least one reference"):
        scorer.score_embeddings(ep.emb, [])


def test_streaming_matches_whole_episode(scorer, refs, synth):
    _, test, _ = synth
    eps = [e for e in test if e.task == "a"][:3]
    t = min(e.num_frames for e in eps)
    whole = [scorer.score_embeddings({v: x[:t] for v, x in e.emb.items()}, refs["a"]) for e in eps]
    st = scorer.streamer(len(eps), refs["a"])
    out = st.reset([0, 1, 2], {v: np.stack([e.emb[v][0] for e in eps]) for v in eps[0].emb})
    got = [out.progress.numpy()]
    for i in range(1, t):
        got.append(st.step({v: np.stack([e.emb[v][i] for e in eps]) for v in eps[0].emb}).progress.numpy())
    got_arr = np.stack(got, 1)
    for k in range(len(eps)):
        np.testing.assert_allclose(got_arr[k], whole[k].progress, atol=1e-5)
    # resetting one env restarts only that env
    st.reset([1], {v: eps[1].emb[v][:1] for v in eps[1].emb})
    assert st.phi[1].item() == pytest.approx(float(whole[1].progress[0]), abs=1e-5)
    assert st.phi[0].item() == pytest.approx(float(whole[0].progress[t - 1]), abs=1e-5)


@pytest.mark.parametrize("fusion", ["guarded", "markov"])
def test_streaming_with_several_references_matches_whole_episode(scorer, synth, fusion):
    """Streaming over k references averages k recursions, exactly as whole-episode scoring averages k scores."""
    train, test, texts = synth
    from robo_reward.reward.data import other_references

    eps = [e for e in test if e.task == "a"][:2]
    t = min(e.num_frames for e in eps)
    refs = other_references(eps[0], train, texts, k=3)
    whole = [scorer.score_embeddings({v: x[:t] for v, x in e.emb.items()}, refs) for e in eps]
    single = [scorer.score_embeddings({v: x[:t] for v, x in e.emb.items()}, refs[0]) for e in eps]
    st = scorer.streamer(len(eps), refs, fusion=fusion)
    got = [st.reset([0, 1], {v: np.stack([e.emb[v][0] for e in eps]) for v in eps[0].emb}).progress.numpy()]
    for i in range(1, t):
        got.append(st.step({v: np.stack([e.emb[v][i] for e in eps]) for v in eps[0].emb}).progress.numpy())
    got_arr = np.stack(got, 1)
    for k, e in enumerate(eps):
        if fusion == "guarded":
            np.testing.assert_allclose(got_arr[k], whole[k].progress, atol=1e-5)
        else:
            markov = np.mean([np.clip(0.5 * (s.p_forward + s.p_backward), 0, 1)
                              for s in (scorer.score_embeddings({v: x[:t] for v, x in e.emb.items()}, r) for r in refs)], 0)
            np.testing.assert_allclose(got_arr[k], markov, atol=1e-5)
        assert np.abs(got_arr[k] - single[k].progress).max() > 1e-4  # the other references count
    with pytest.raises(ValueError, match="at least one reference"):
        scorer.streamer(1, [])


def test_markov_streaming_is_a_function_of_the_current_frames(scorer, refs, synth):
    """fusion="markov": Phi_t = (P_F + P_B) / 2 of frame t whatever came before (a potential for PBRS);
    the guarded fusion depends on the history."""
    _, test, _ = synth
    a, b = [e for e in test if e.task == "a" and e.outcome == "success"][:2]
    whole = scorer.score_embeddings(a.emb, refs["a"])
    x = {v: a.emb[v][-1:] for v in a.emb}
    got = {}
    for fusion in ("markov", "guarded"):
        for name, hist in (("a", a), ("b", b)):
            st = scorer.streamer(1, refs["a"], fusion=fusion)
            st.reset([0], {v: hist.emb[v][:1] for v in hist.emb})
            for i in range(1, 4):
                st.step({v: hist.emb[v][i:i + 1] for v in hist.emb})
            got[fusion, name] = st.step(x).progress.item()
    expect = float(np.clip(0.5 * (whole.p_forward[-1] + whole.p_backward[-1]), 0, 1))
    assert got["markov", "a"] == pytest.approx(expect, abs=1e-5)
    assert got["markov", "b"] == pytest.approx(expect, abs=1e-5)
    assert abs(got["guarded", "a"] - got["guarded", "b"]) > 1e-4
    with pytest.raises(ValueError, match="fusion must be one of"):
        scorer.streamer(1, refs["a"], fusion="mean")


def test_streamer_errors(scorer, refs):
    d = scorer.model.embed_dim
    st = scorer.streamer(2, refs["a"])
    emb = {v: np.zeros((2, d), np.float32) for v in scorer.views}
    with pytest.raises(ValueError, match="never reset"):
        st.step(emb)
    with pytest.raises(ValueError, match="out of range"):
        st.reset([5], {v: np.zeros((1, d), np.float32) for v in scorer.views})


def test_bad_inputs_give_clear_errors(scorer, refs):
    d = scorer.model.embed_dim
    with pytest.raises(ValueError, match="unknown views \\['top'\\].*trained with views"):
        scorer.score_embeddings({"top": np.zeros((5, d), np.float32)}, refs["a"])
    with pytest.raises(ValueError, match=f"expected \\(T, {d}\\)"):
        scorer.score_embeddings({"front": np.zeros((5, d + 1), np.float32)}, refs["a"])
    with pytest.raises(ValueError, match="same T"):
        scorer.score_embeddings({"front": np.zeros((5, d), np.float32), "side": np.zeros((4, d), np.float32)}, refs["a"])
    bad = Reference("a", "", {"front": np.zeros(3, np.float32)}, None, None)
    with pytest.raises(ValueError, match="reference start"):
        scorer.score_embeddings({"front": np.zeros((5, d), np.float32)}, bad)


def test_checkpoint_roundtrip_identical(tmp_path, scorer, refs, synth):
    _, test, _ = synth
    ep = test[0]
    save_reward_model(tmp_path / "m", scorer.model, refs, 0.7, {"outcome_thresholds": {"success": 0.9, "partial": 0.3}})
    save_reward_model(tmp_path / "m", scorer.model, refs, 0.7)  # overwrite in place works
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["config.json", "model.safetensors", "reference.safetensors"]
    assert [p.name for p in tmp_path.iterdir()] == ["m"]  # no temp leftovers
    model, refs2, cfg = load_model_files(tmp_path / "m")
    sc2 = ProgressScorer(model, cfg["success_temperature"])
    a = ProgressScorer(scorer.model, 0.7).score_embeddings(ep.emb, refs[ep.task])
    b = sc2.score_embeddings(ep.emb, refs2[ep.task])
    np.testing.assert_array_equal(a.progress, b.progress)
    np.testing.assert_array_equal(a.success_prob, b.success_prob)
    for v in refs[ep.task].start:
        np.testing.assert_array_equal(refs[ep.task].goal[v], refs2[ep.task].goal[v])
    np.testing.assert_array_equal(refs[ep.task].text, refs2[ep.task].text)
    with pytest.raises(FileNotFoundError, match="not a reward-model directory"):
        load_model_files(tmp_path)


def test_checkpoint_keeps_extra_references(tmp_path, scorer, synth):
    from robo_reward.reward.checkpoint import load_model_and_references
    from robo_reward.reward.data import other_references
    from robo_reward.reward.pipeline import RewardPipeline, load_reward_model, save_reward_model as save_pipeline

    train, test, texts = synth
    ep = next(e for e in test if e.task == "a" and e.outcome == "success")
    refs = other_references(ep, train, texts, k=3)
    pipe = RewardPipeline(scorer, {"a": refs[0]}, None, None, {"num_references": 3}, {"a": refs[1:]})
    save_pipeline(tmp_path / "m", pipe)
    _, sets, _ = load_model_and_references(tmp_path / "m")
    assert list(sets) == ["a"] and len(sets["a"]) == 3
    for got, want in zip(sets["a"], refs):
        for v in want.start:
            np.testing.assert_array_equal(got.start[v], want.start[v])
            np.testing.assert_array_equal(got.goal[v], want.goal[v])
    loaded = load_reward_model(tmp_path / "m", device="cpu", load_backbone=False)
    assert len(loaded.reference_set("a")) == 3 and len(loaded.reference_set("a", 2)) == 2
    np.testing.assert_allclose(loaded.score_embeddings(ep.emb, "a").progress,
                               scorer.score_embeddings(ep.emb, refs).progress, atol=1e-6)
    np.testing.assert_allclose(loaded.score_embeddings(ep.emb, "a", num_references=1).progress,
                               scorer.score_embeddings(ep.emb, refs[0]).progress, atol=1e-6)
    with pytest.raises(ValueError, match="num_references must be >= 1"):
        loaded.reference_set("a", 0)


def test_failure_scores_below_success(scorer, refs, synth):
    _, test, _ = synth
    fin = {o: [scorer.score_embeddings(e.emb, refs[e.task]).progress[-1] for e in test if e.outcome == o]
           for o in ("success", "failure")}
    assert min(fin["success"]) > max(fin["failure"])
    assert torch.get_num_threads() >= 1


def test_references_exclude_the_episode_itself_not_its_namesakes():
    """Folder names repeat across dataset roots (success/reach_00000, partial/reach_00000): a partial episode must
    get the same references as every other non-success episode, and a success never itself (nor its reversal)."""
    from robo_reward.reward.data import EmbeddedEpisode, other_references

    def ep(root, name, outcome, seed):
        emb = {"front": np.random.default_rng(seed).normal(size=(4, 3)).astype(np.float32)}
        return EmbeddedEpisode(name, "reach", "reach", outcome, emb, np.linspace(0, 1, 4, dtype=np.float32),
                               {"path": f"{root}/{name}"})

    succ = [ep("s", f"reach_0000{i}", "success", i) for i in range(3)]
    partial = ep("p", "reach_00000", "partial", 9)
    failure = ep("f", "reach_00007", "failure", 8)
    pool = [partial, failure, *succ]
    texts = {"reach": None}
    src = lambda e, k: [r.source for r in other_references(e, pool, texts, k)]  # noqa: E731
    assert src(partial, 2) == src(failure, 2) == ["s/reach_00000", "s/reach_00001"]
    assert src(succ[0], 2) == src(succ[0].reversed(), 2) == ["s/reach_00001", "s/reach_00002"]
    assert succ[0].reversed().key == succ[0].key == "s/reach_00000"
