"""Recorded episodes on disk -> train_reward.run -> eval_reward.run, with the tiny random small_cnn backbone."""

import json

import numpy as np
import pytest

from robo_reward.backbones.base import BackboneConfig


def _episode(outcome: str, seed: int):
    from robo_reward.data import Episode, StageSpan

    r = np.random.default_rng(seed)
    n = {"success": 12, "partial": 9, "failure": 6}[outcome]
    reach = min(int(r.integers(3, 6)), n - 2)
    t = np.arange(n)
    level = np.minimum(t / 11.0, 1.0)  # a bright square moving across the image = progress
    frames = {}
    for v, off in (("front", 0), ("side", 8)):
        f = np.full((n, 32, 32, 3), 40, np.uint8)
        for i in range(n):
            x = int(2 + level[i] * 24) + r.integers(0, 2)
            f[i, 8 + off // 2 : 16 + off // 2, x : x + 6] = 230
        frames[v] = f
    stages = [StageSpan("reach", 0, int(reach) - 1), StageSpan("move", int(reach), n - 1)]
    if outcome == "failure":
        stages = [StageSpan("reach", 0, n - 1)]
    return Episode(task="slide", instruction="slide the square right", fps=10.0, outcome=outcome, frames=frames,
                   states=np.zeros((n, 2), np.float32), actions=np.zeros((n, 1), np.float32), stages=stages)


@pytest.mark.slow
def test_train_and_eval_from_recorded_episodes(tmp_path):
    from robo_reward.data import EpisodeDataset
    from robo_reward.backbones.text import TextEncoderConfig
    from robo_reward.reward import evaluate, train
    from robo_reward.reward.model import RewardModelConfig
    from robo_reward.reward.pipeline import load_reward_model

    for split, seeds in (("train", range(8)), ("test", range(100, 104))):
        ds = EpisodeDataset(tmp_path / split)
        for s in seeds:
            ds.add(_episode(["success", "success", "partial", "failure"][s % 4], s))
    bb = BackboneConfig(name="small_cnn", device="cpu", image_size=32)
    cfg = train.TrainRewardConfig(
        data_roots=[str(tmp_path / "train")], backbone=bb, text_encoder=TextEncoderConfig(device="cpu"),
        cache_dir=str(tmp_path / "cache"), model=RewardModelConfig(hidden=32, heads=4, layers=1, num_bins=11),
        steps=60, batch_size=32, lr=3e-3, out_dir=str(tmp_path / "run"), device="cpu", val_fraction=0.0,
        checkpoint_every=30,
    )
    res = train.run(cfg)
    assert res["num_train"] == 8 and res["views"] == ["front", "side"]
    assert (tmp_path / "run" / "checkpoints" / "last.pt").is_file()
    assert any((tmp_path / "run" / "tensorboard").iterdir())
    pipe = load_reward_model(tmp_path / "run" / "model", device="cpu")
    assert pipe.tasks == ("slide",) and pipe.views == ("front", "side")
    ev = evaluate.run(evaluate.EvalRewardConfig(model_dir=str(tmp_path / "run" / "model"),
                                                data_roots=[str(tmp_path / "test")], cache_dir=str(tmp_path / "cache"),
                                                out_dir=str(tmp_path / "eval"), device="cpu"))
    assert (tmp_path / "eval" / "progress_curves.png").is_file()
    saved = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert saved["overall"]["num_episodes"] == 4 and np.isfinite(ev["overall"]["voc_success"])
    # the per-episode 3-way calls add up to the reported accuracy and confusion, and are listed once
    rows = saved["overall"]["episodes"]
    assert sorted(r["path"] for r in rows) == sorted(str(p) for p in (tmp_path / "test").glob("*/") if p.is_dir())
    assert saved["overall"]["outcome_accuracy"] == pytest.approx(np.mean([r["predicted"] == r["outcome"] for r in rows]))
    assert saved["overall"]["confusion"] == {t: {p: sum(r["outcome"] == t and r["predicted"] == p for r in rows)
                                                 for p in ("success", "partial", "failure")}
                                             for t in ("success", "partial", "failure")}
    assert all("episodes" not in m for m in saved["per_task"].values())
    assert (tmp_path / "eval" / "outcomes.png").is_file()
    # the terminal summary: one row per task and overall, with the saved figures; not part of metrics.json
    overall_row = next(line for line in ev["summary"].splitlines() if line.startswith("overall"))
    assert f"{saved['overall']['voc_success']:.3f}" in overall_row and "summary" not in saved
    assert "metrics.json" in ev["summary"].splitlines()[-1]


def test_sim_labels_follow_the_recorded_true_progress(tmp_path):
    """labels="sim": an episode's recorded true progress becomes its labels (a failure that wanders off stays at 0
    where stage labels would climb); episodes without it keep their stage labels."""
    from robo_reward.data import EpisodeDataset
    from robo_reward.reward.data import load_embedded_episodes

    ds = EpisodeDataset(tmp_path / "ds")
    eps = {s: _episode(o, s) for s, o in ((0, "success"), (1, "failure"), (2, "failure"))}
    eps[0].extra["true_progress"] = list(np.linspace(0, 1, eps[0].num_frames))
    eps[1].extra["true_progress"] = [0.0] * eps[1].num_frames  # wandered away
    names = {s: ds.add(ep).name for s, ep in eps.items()}
    lengths = {names[s]: ep.num_frames for s, ep in eps.items()}
    enc = lambda p: np.zeros((lengths[p.parent.name], 4), np.float32)  # noqa: E731
    by = lambda got: {e.name: e for e in got}  # noqa: E731
    stages = by(load_embedded_episodes([tmp_path / "ds"], enc))
    sim = by(load_embedded_episodes([tmp_path / "ds"], enc, labels="sim"))
    n0, n1, n2 = names[0], names[1], names[2]
    np.testing.assert_allclose(sim[n0].progress, np.linspace(0, 1, eps[0].num_frames), atol=1e-6)
    assert stages[n1].progress[-1] > 0.05 and not sim[n1].progress.any()
    np.testing.assert_array_equal(sim[n2].progress, stages[n2].progress)
    with pytest.raises(ValueError, match="labels must be"):
        load_embedded_episodes([tmp_path / "ds"], enc, labels="dense")
