"""``robo-reward adapt --base``: fine-tune a (tiny) trained base reward model on one demo, score, stream, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file
from scipy.stats import spearmanr

from robo_reward.adapt.base import map_views
from robo_reward.adapt.cli import adapt_main, score_main
from robo_reward.loading import load_progress_model
from adapt_helpers import PixelEncoder, block_frames
from test_adapt_cli import TASK, assert_one_line_error, run


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny hop model trained for a few steps on block videos, with views named unlike the demo's."""
    from robo_reward.reward.data import EmbeddedEpisode, Reference
    from robo_reward.reward.model import RewardModelConfig
    from robo_reward.reward.pipeline import RewardPipeline, save_reward_model
    from robo_reward.reward.scoring import ProgressScorer
    from robo_reward.reward.trainer import LoopConfig, train_hop_model

    enc = PixelEncoder()
    eps = []
    for k, colour in enumerate([(200, 60, 60), (60, 60, 200), (60, 180, 60)]):
        kw = {"colour": colour, "background": (20 + 20 * k, 50, 80)}
        for stop, outcome in ((None, "success"), (0.5, "failure")):
            emb = {"left": enc.encode_frames(block_frames(stop_at=stop, **kw)),
                   "right": enc.encode_frames(block_frames(mirror=True, stop_at=stop, **kw))}
            prog = np.linspace(0, 1, 60, dtype=np.float32)
            if stop is not None:
                prog = np.minimum(prog, prog[int(stop * 59)])
            eps.append(EmbeddedEpisode(f"ep{k}_{outcome}", "blocks", "move the block", outcome, emb, prog))
    texts = {"blocks": np.ones(8, np.float32)}
    model_cfg = RewardModelConfig(hidden=32, layers=1, heads=2, num_bins=11)
    model, _ = train_hop_model(eps, texts, ["left", "right"], model_cfg, LoopConfig(steps=40, batch_size=32, warmup_steps=5),
                               progress_bar=False)
    refs = {"blocks": Reference.from_episode(eps[0], texts["blocks"])}
    meta = {"backbone": {"name": "efficientnet_lite0", "image_size": 64}, "backbone_identity": PixelEncoder.identity}
    out = tmp_path_factory.mktemp("base") / "model"
    save_reward_model(out, RewardPipeline(ProgressScorer(model), refs, None, None, meta))
    return out


def test_map_views_same_names_first_then_by_position():
    assert map_views(["front", "side"], ["left", "right"]) == {"front": "left", "side": "right"}
    assert map_views(["side", "top"], ["front", "side", "wrist"]) == {"side": "side", "top": "front"}
    assert map_views(["a", "b", "c"], ["x"]) == {"a": "x"}


def test_adapt_from_base_end_to_end(tiny_encoder, base_dir, videos, tmp_path, capsys, monkeypatch):
    out = tmp_path / "reward"
    rc, stdout, err = run(adapt_main, ["--demo", videos["two"], "--task", TASK, "--out", out, "--base", base_dir], capsys)
    assert rc == 0, err
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["base"]["view_map"] == {"front": "left", "side": "right"}  # names differ: mapped by position
    assert cfg["info"]["base"]["tune"]["steps"] > 0
    assert cfg["backbone"] == {"name": "efficientnet_lite0", "image_size": 64, "device": "auto"}  # the base's backbone
    # self-contained: the fine-tuned base and its reference live inside the adapted directory
    assert (out / "base" / "model.safetensors").is_file() and (out / "base" / "reference.safetensors").is_file()
    tuned = load_file(str(out / "base" / "model.safetensors"))
    orig = load_file(str(base_dir / "model.safetensors"))
    assert any(not np.allclose(tuned[k], orig[k]) for k in orig)  # fine-tuned, not copied

    curves = {}
    for name in ("ok", "fail"):
        js = tmp_path / f"{name}.json"
        rc, _, err = run(score_main, ["--reward", out, "--episode", videos[name], "--out", js], capsys)
        assert rc == 0, err
        res = json.loads(js.read_text())
        p = np.asarray(res["progress"])
        assert p.shape == (60,) and p.min() >= 0 and p.max() <= 1
        curves[name] = p
    assert spearmanr(np.arange(60), curves["ok"]).statistic > 0.9
    assert curves["ok"][-1] > curves["fail"][-1] + 0.2

    # the shared loader streams the same numbers (heads per frame + the base's recursion)
    monkeypatch.setattr("robo_reward.adapt.streaming.build_encoder", lambda spec: tiny_encoder)
    stream = load_progress_model(out, num_envs=1)
    frames = {"front": block_frames(colour=(230, 200, 60), background=(50, 40, 60)),
              "side": block_frames(mirror=True, colour=(230, 200, 60), background=(50, 40, 60))}
    streamed = [float(stream.reset([0], {v: f[:1] for v, f in frames.items()}).progress[0])]
    streamed += [float(stream.step({v: f[t : t + 1] for v, f in frames.items()}).progress[0]) for t in range(1, 60)]
    np.testing.assert_allclose(streamed, curves["ok"], atol=0.03)  # video codec noise between the two paths


def test_base_only_weights_change_the_output(tiny_encoder, base_dir, videos, tmp_path, capsys):
    """The mix is real: the same demo adapted with and without a base gives different progress."""
    a, b = tmp_path / "a", tmp_path / "b"
    assert run(adapt_main, ["--demo", videos["two"], "--task", TASK, "--out", a], capsys)[0] == 0
    assert run(adapt_main, ["--demo", videos["two"], "--task", TASK, "--out", b, "--base", base_dir], capsys)[0] == 0
    for d in (a, b):
        assert run(score_main, ["--reward", d, "--episode", videos["ok"], "--out", d / "s.json"], capsys)[0] == 0
    p_a = np.asarray(json.loads((a / "s.json").read_text())["progress"])
    p_b = np.asarray(json.loads((b / "s.json").read_text())["progress"])
    assert np.abs(p_a - p_b).max() > 1e-3


@pytest.mark.parametrize("kind, needle", [("missing", "no such directory"), ("empty", "no config.json"),
                                          ("adapted", "not a trained base model"), ("broken", "cannot load")])
def test_bad_base_path_gives_one_line_error(kind, needle, tiny_encoder, videos, tmp_path, capsys):
    base = tmp_path / "base"
    if kind == "empty":
        base.mkdir()
    elif kind == "adapted":  # an adapted directory is not a base model
        assert run(adapt_main, ["--demo", videos["single"], "--task", TASK, "--out", base], capsys)[0] == 0
    elif kind == "broken":
        base.mkdir()
        (base / "config.json").write_text(json.dumps({"format": "robo_reward.reward/1", "backbone": {}}))
    rc, _, err = run(adapt_main, ["--demo", videos["single"], "--task", TASK, "--out", tmp_path / "r", "--base", base], capsys)
    assert_one_line_error(rc, err, needle)
    assert err.startswith("robo-reward adapt: error: --base")
    assert not (tmp_path / "r").exists()


def test_backbone_flags_conflict_with_base(tiny_encoder, base_dir, videos, tmp_path, capsys):
    rc, _, err = run(adapt_main, ["--demo", videos["single"], "--task", TASK, "--out", tmp_path / "r", "--base", base_dir,
                                  "--image-size", "96"], capsys)
    assert_one_line_error(rc, err, "cannot be combined with --base")


def test_long_demos_get_fewer_jittered_copies():
    from robo_reward.adapt.pipeline import copies_within_budget

    assert copies_within_budget(4, 900, 2 * 25) == 4  # a short 2-view demo: all copies
    assert copies_within_budget(4, 900, 2 * 150) == 2  # 150 frames x 2 views: 900 embedded frames in all
    assert copies_within_budget(4, 900, 3 * 300) == 1  # never fewer than one jittered copy
    assert copies_within_budget(0, 900, 10) == 0  # no augmentation asked for


def test_base_scores_against_the_demo_and_its_jittered_copies(tiny_encoder, base_dir, videos, tmp_path):
    """num_references > 1: the fine-tuned base keeps the demo's and its copies' start/goal, saves and reloads them,
    and its progress is the mean of the scores against each; more references than copies are capped."""
    from dataclasses import replace

    from robo_reward.adapt.base import BaseTuneConfig
    from robo_reward.adapt.pipeline import AdaptConfig, run_adapt
    from robo_reward.adapt.reward_dir import load_reward_dir

    with pytest.raises(ValueError, match="num_references >= 1"):
        BaseTuneConfig(num_references=0)
    out = tmp_path / "reward"
    cfg = AdaptConfig(demo=str(videos["two"]), task=TASK, out=str(out), base=str(base_dir), augment_copies=2)
    cfg.base_tune = replace(cfg.base_tune, num_references=5)
    run_adapt(cfg)
    part = load_reward_dir(out).base
    assert part is not None and len(part.references) == 3  # the demo + its 2 jittered copies
    starts = [np.concatenate([r.start[v] for v in ("left", "right")]) for r in part.references]
    assert all(np.abs(a - b).max() > 1e-3 for i, a in enumerate(starts) for b in starts[i + 1:])  # copies differ

    emb = {"front": tiny_encoder.encode_frames(block_frames(colour=(230, 200, 60), background=(50, 40, 60))),
           "side": tiny_encoder.encode_frames(block_frames(mirror=True, colour=(230, 200, 60), background=(50, 40, 60)))}
    progress, _ = part.score(emb)
    mapped = {part.view_map[v]: e for v, e in emb.items()}
    each = [part.scorer.score_embeddings(mapped, r, use_text=False).progress for r in part.references]
    np.testing.assert_allclose(progress, np.mean(each, axis=0), atol=1e-5)
    assert max(np.abs(e - each[0]).max() for e in each[1:]) > 1e-3  # the references are not interchangeable


def _part(weight: float, mix: str):
    from robo_reward.adapt.base import BasePart

    return BasePart(scorer=None, references=[], view_map={}, head_weight=weight, meta={}, mix=mix)  # type: ignore[arg-type]


def test_combine_rules_on_hand_computed_values():
    """geometric: h**w * b**(1-w); linear: w*h + (1-w)*b; success is the linear mix under both rules."""
    import torch

    from robo_reward.adapt.base import MIX_FLOOR, BaseTuneConfig
    from robo_reward.types import ProgressOutput

    heads = ProgressOutput(torch.tensor([0.25, 0.9, 0.0]), torch.tensor([0.2, 0.8, 0.1]), torch.tensor([0.05, 0.0, 0.1]))
    p_b, s_b = np.array([0.64, 0.1, 0.5]), np.array([0.6, 0.4, 0.0])
    geo = _part(0.5, "geometric").combine(heads, p_b, s_b)
    np.testing.assert_allclose(geo.progress.numpy(), [0.4, 0.3, (MIX_FLOOR * 0.5) ** 0.5], rtol=1e-5)
    np.testing.assert_allclose(geo.success_prob.numpy(), [0.4, 0.6, 0.05], rtol=1e-6)
    np.testing.assert_allclose(geo.uncertainty.numpy(), [0.05 + 0.195, 0.4, 0.1 + 0.25], rtol=1e-5)
    lin = _part(0.25, "linear").combine(heads, p_b, s_b)
    np.testing.assert_allclose(lin.progress.numpy(), [0.0625 + 0.48, 0.225 + 0.075, 0.375], rtol=1e-6)
    # an AND: a frame only one part calls near done stays below the linear mix of the same weight
    np.testing.assert_array_less(_part(0.3, "geometric").combine(heads, p_b, s_b).progress.numpy()[:2],
                                 _part(0.3, "linear").combine(heads, p_b, s_b).progress.numpy()[:2])
    # the weight's ends are one part alone under both rules
    for mix in ("geometric", "linear"):
        np.testing.assert_allclose(_part(1.0, mix).combine(heads, p_b, s_b).progress.numpy()[:2], [0.25, 0.9], rtol=1e-5)
        np.testing.assert_allclose(_part(0.0, mix).combine(heads, p_b, s_b).progress.numpy(), p_b, rtol=1e-5)
    with pytest.raises(ValueError, match="mix"):
        BaseTuneConfig(mix="max")


def test_the_mix_rule_is_saved_and_old_directories_keep_the_linear_mix(tiny_encoder, base_dir, videos, tmp_path, capsys):
    from robo_reward.adapt.reward_dir import load_reward_dir

    out = tmp_path / "reward"
    assert run(adapt_main, ["--demo", videos["two"], "--task", TASK, "--out", out, "--base", base_dir], capsys)[0] == 0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["base"]["mix"] == "geometric"
    bundle = load_reward_dir(out)
    emb = {"front": tiny_encoder.encode_frames(block_frames(colour=(230, 200, 60), background=(50, 40, 60))),
           "side": tiny_encoder.encode_frames(block_frames(mirror=True, colour=(230, 200, 60), background=(50, 40, 60)))}
    heads = bundle.model.score(emb).progress.numpy()
    p_b, _ = bundle.base.score(emb)
    w = bundle.base.head_weight
    np.testing.assert_allclose(bundle.score(emb).progress.numpy(),
                               np.clip(np.maximum(heads, 1e-4) ** w * np.maximum(p_b, 1e-4) ** (1 - w), 0, 1), atol=1e-5)

    del cfg["base"]["mix"]  # as written before the rule existed
    (out / "config.json").write_text(json.dumps(cfg))
    old = load_reward_dir(out)
    assert old.base.mix == "linear"
    np.testing.assert_allclose(old.score(emb).progress.numpy(), np.clip(w * heads + (1 - w) * p_b, 0, 1), atol=1e-5)


def test_view_familiarity_on_hand_computed_cases():
    """The highest cosine similarity of a demo view's first frame to the base's stored starts of its mapped view."""
    from robo_reward.adapt.base import view_familiarity
    from robo_reward.reward.data import Reference

    refs = [Reference("t1", "", {"x": np.array([1.0, 0.0]), "y": np.array([1.0, 0.0])}, None, None),
            Reference("t2", "", {"x": np.array([0.6, 0.8])}, None, None)]
    first = {"a": np.array([0.0, 2.0]), "b": np.array([0.0, 1.0]), "c": np.array([1.0, 1.0])}
    fam = view_familiarity(first, {"a": "x", "b": "y", "c": "z"}, refs)
    assert fam["a"] == pytest.approx(0.8)  # nearest of the two stored x starts; the norm does not matter
    assert fam["b"] == pytest.approx(0.0)
    assert fam["c"] == -1.0  # the base stores no start for z


def test_the_base_gets_only_the_cameras_it_knows(tiny_encoder, base_dir, videos, tmp_path):
    """Demo views whose first frame is unlike every start the base stores for the mapped view are not given to the
    base; with none left the adapted reward is the heads alone, exactly as without --base."""
    from dataclasses import replace

    from robo_reward.adapt.base import BaseTuneConfig
    from robo_reward.adapt.pipeline import AdaptConfig, run_adapt
    from robo_reward.adapt.reward_dir import load_reward_dir

    def adapt(name: str, threshold: float | None, base: bool = True):
        cfg = AdaptConfig(demo=str(videos["two"]), task=TASK, out=str(tmp_path / name), base=str(base_dir) if base else None)
        if threshold is not None:
            cfg.base_tune = replace(cfg.base_tune, familiar_similarity=threshold)
        summary = run_adapt(cfg)
        return summary, load_reward_dir(tmp_path / name)

    summary, bundle = adapt("all", None)
    fam = summary["base"]["view_familiarity"]
    assert set(fam) == {"front", "side"} and min(fam.values()) >= BaseTuneConfig().familiar_similarity  # its own footage
    assert bundle.base is not None and bundle.base.view_map == {"front": "left", "side": "right"}

    lo, hi = sorted(fam.values())
    assert hi - lo > 1e-3
    summary, bundle = adapt("one", (lo + hi) / 2)
    kept = max(fam, key=fam.get)
    assert bundle.base is not None and list(bundle.base.view_map) == [kept]
    assert summary["base"]["unfamiliar_views"] == [min(fam, key=fam.get)]

    summary, bundle = adapt("none", hi + 1e-3)
    assert bundle.base is None and summary["base"]["unfamiliar_views"] == ["front", "side"]
    assert "base" not in json.loads((tmp_path / "none" / "config.json").read_text())
    _, heads_only = adapt("heads", None, base=False)
    emb = {"front": tiny_encoder.encode_frames(block_frames(colour=(230, 200, 60), background=(50, 40, 60))),
           "side": tiny_encoder.encode_frames(block_frames(mirror=True, colour=(230, 200, 60), background=(50, 40, 60)))}
    np.testing.assert_allclose(bundle.score(emb).progress.numpy(), heads_only.score(emb).progress.numpy(), atol=1e-6)
