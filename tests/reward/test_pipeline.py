"""RewardPipeline on frames with a fake backbone (a fixed random projection of pooled pixels)."""

import numpy as np
import pytest
import torch

from robo_reward.reward.data import Reference
from robo_reward.reward.pipeline import RewardPipeline, load_reward_model, save_reward_model
from robo_reward.reward.scoring import ProgressScorer
from robo_reward.types import BatchedProgressModel


class FakeBackbone:
    """(…, H, W, 3) uint8 -> 4x4 average-pooled pixels -> fixed linear map to D dims."""

    def __init__(self, d: int) -> None:
        self.embed_dim = d
        self.identity = "fake"
        self.w = torch.randn(48, d, generator=torch.Generator().manual_seed(0))
        self.calls = 0

    def encode(self, frames):
        self.calls += 1
        t = torch.as_tensor(np.asarray(frames)).float() / 255.0
        lead = t.shape[:-3]
        x = t.reshape(-1, *t.shape[-3:]).permute(0, 3, 1, 2)
        x = torch.nn.functional.adaptive_avg_pool2d(x, 4).reshape(x.shape[0], -1)
        return (x @ self.w).reshape(*lead, self.embed_dim)

    def encode_frames(self, frames):
        return self.encode(frames).numpy()


def _frames(t, views, seed):
    r = np.random.default_rng(seed)
    base = np.linspace(0, 255, t)[:, None, None, None]
    return {v: np.clip(base + r.normal(0, 20, size=(t, 16, 16, 3)), 0, 255).astype(np.uint8) for v in views}


@pytest.fixture()
def pipe(scorer):
    bb = FakeBackbone(scorer.model.embed_dim)
    p = RewardPipeline(scorer, {}, bb, None)
    p.add_reference_embeddings("demo", None, p.encode_views(_frames(6, scorer.views, 99)))
    return p


def test_score_episode_and_streamer_agree(pipe):
    frames = [_frames(7, pipe.views, s) for s in (1, 2)]
    whole = [pipe.score_episode(f).progress for f in frames]
    st = pipe.streamer(2)
    assert isinstance(st, BatchedProgressModel) and st.num_envs == 2 and st.views == pipe.views
    out = [st.reset([0, 1], {v: np.stack([f[v][0] for f in frames]) for v in pipe.views}).progress]
    calls = pipe.backbone.calls
    for i in range(1, 7):
        out.append(st.step({v: np.stack([f[v][i] for f in frames]) for v in pipe.views}).progress)
    assert pipe.backbone.calls - calls == 6  # one batched backbone call per step for all views and envs
    got = torch.stack(out, 1).numpy()
    for k in range(2):
        np.testing.assert_allclose(got[k], whole[k], atol=1e-5)


def test_frame_errors(pipe):
    f = _frames(3, pipe.views, 0)
    with pytest.raises(ValueError, match="unknown views"):
        pipe.score_episode({"top": f["front"]})
    with pytest.raises(ValueError, match="expected \\(T, H, W, 3\\)"):
        pipe.score_episode({"front": f["front"][..., :2]})
    with pytest.raises(ValueError, match="dtype"):
        pipe.score_episode({"front": f["front"].astype(np.float32)})
    with pytest.raises(ValueError, match="different numbers of frames"):
        pipe.score_episode({"front": f["front"], "side": f["side"][:2]})
    with pytest.raises(ValueError, match="unknown task"):
        pipe.score_episode(f, task="nope")
    st = pipe.streamer(2, views=["front"])
    with pytest.raises(ValueError, match="expected \\(2, H, W, 3\\)"):
        st.reset([0, 1], {"front": f["front"][:1]})
    with pytest.raises(ValueError, match="expected frames for views \\['front'\\]"):
        st.step({"side": f["side"][:2]})


def test_save_load_without_backbone(tmp_path, pipe):
    pipe.meta = {"outcome_thresholds": {"success": 0.8, "partial": 0.3}}
    save_reward_model(tmp_path / "rm", pipe)
    p2 = load_reward_model(tmp_path / "rm", device="cpu", load_backbone=False)
    assert p2.tasks == ("demo",) and p2.meta["outcome_thresholds"]["success"] == 0.8
    emb = pipe.encode_views(_frames(5, pipe.views, 3))
    np.testing.assert_array_equal(pipe.score_embeddings(emb).progress, p2.score_embeddings(emb).progress)


def test_backbone_size_mismatch(scorer):
    with pytest.raises(ValueError, match="expects"):
        RewardPipeline(scorer, {}, FakeBackbone(scorer.model.embed_dim + 1))
    assert isinstance(Reference, type) and isinstance(scorer, ProgressScorer)
