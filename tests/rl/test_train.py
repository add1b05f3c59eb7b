"""Config-driven training runs: start, log, checkpoint, resume; config validation."""

import json
import logging
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from rl_fakes import LineReachEnv

from robo_reward.rl import TrainConfig, run

CONFIGS = str(Path(__file__).resolve().parents[2] / "configs")


def make_cfg(tmp_path, *overrides):
    with initialize_config_dir(config_dir=CONFIGS, version_base=None):
        raw = compose("train", overrides=[f"output_dir={tmp_path}", "progress_bar=false", *overrides])
    return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(TrainConfig), raw))


def fake_env(cfg):
    return LineReachEnv()


def tb_tags(directory):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tags = set()
    for ev in Path(directory).rglob("events.out.tfevents.*"):
        acc = EventAccumulator(str(ev))
        acc.Reload()
        tags |= set(acc.Tags()["scalars"])
    return tags


def test_config_errors_say_what_to_do():
    with pytest.raises(ValueError, match="reward_model_dir=oracle"):
        TrainConfig(reward="learned")
    with pytest.raises(ValueError, match="expected one of 'sparse', 'expert', 'learned'"):
        TrainConfig(reward="dense")
    with pytest.raises(ValueError, match="ent_coef"):
        make_cfg("/tmp/x", "algo.ent_coef=lots")


def test_compose_maps_groups_onto_dataclasses(tmp_path):
    cfg = make_cfg(tmp_path, "task=pick_place", "reward=learned", "reward_model_dir=oracle", "shaping=naive",
                   "algo=ppo", "seed=3")
    assert (cfg.task, cfg.reward.value, cfg.shaping.kind.value, cfg.algo.name.value, cfg.seed) == (
        "pick_place", "learned", "naive", "ppo", 3)
    assert cfg.algo.ent_coef == "0.0" and cfg.algo.n_steps == 2048


TINY_SAC = ["task=line", "reward=learned", "reward_model_dir=oracle", "shaping=pbrs", "algo=sac",
            "algo.learning_starts=50", "algo.batch_size=32", "algo.net_arch=[32,32]", "max_episode_steps=30",
            "eval_every=100", "eval_episodes=2", "final_eval_episodes=3", "checkpoint_every=100", "num_envs=2",
            "image_size=8"]


@pytest.mark.slow
def test_sac_learned_reward_run_logs_checkpoints_and_resumes(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="robo_reward.rl.callbacks"):
        res = run(make_cfg(tmp_path, "total_steps=200", *TINY_SAC), env_factory=fake_env)
    ck = tmp_path / "checkpoints"
    assert res["num_timesteps"] == 200
    assert {"model_100_steps.zip", "model_200_steps.zip", "model_replay_buffer_200_steps.pkl"} <= {
        p.name for p in ck.iterdir()}
    assert res["eval_timesteps"] == [100, 200]
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("evaluation at")]
    assert len(lines) == 2 and lines[1].startswith("evaluation at 200 steps")  # one line per evaluation
    assert f"success {res['eval_success_rate'][1]:.2f}, return" in lines[1]
    # 2 envs, episodes of <= 30 steps: >= 2 finished by step 100 (50 per env), >= 6 by step 200
    assert res["eval_train_episodes"][0] >= 2 and res["eval_train_episodes"][1] >= 6
    assert 0.0 <= res["final_success_rate"] <= 1.0 and res["final_hover_fraction"] is not None
    assert f"final success {res['final_success_rate']:.2f}" in res["summary"] and "video.mp4" in res["summary"]
    assert "summary" not in json.loads((tmp_path / "results.json").read_text())
    assert Path(res["video"]).stat().st_size > 0
    from robo_reward.data.video import probe_video

    assert probe_video(res["video"]).num_frames >= 2
    tags = tb_tags(tmp_path / "tb")
    assert {"reward/pbrs", "reward/sparse", "reward/progress", "eval/success_rate"} <= tags
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["num_timesteps"] == 200

    res2 = run(make_cfg(tmp_path, "total_steps=300", "resume=true", *TINY_SAC), env_factory=fake_env)
    assert res2["resumed_from"] == 200 and res2["num_timesteps"] == 300
    assert res2["eval_timesteps"] == [100, 200, 300]  # evaluation history continued
    from stable_baselines3 import SAC

    model = SAC.load(ck / "model_300_steps.zip")
    model.load_replay_buffer(ck / "model_replay_buffer_300_steps.pkl")
    assert model.replay_buffer.size() * 2 == 300  # 2 envs: buffer carried over the resume


@pytest.mark.slow
def test_subprocess_envs_train_like_in_process_envs(tmp_path):
    """SubprocVecEnv workers (forkserver) give the same transitions, hence the same learner, as DummyVecEnv."""
    common = ["total_steps=120", "eval_every=0", "final_eval_episodes=3", "checkpoint_every=0", "video=false",
              "tensorboard=false", *[o for o in TINY_SAC if not o.startswith(("eval_", "final_", "checkpoint_"))]]
    a = run(make_cfg(tmp_path / "dummy", *common), env_factory=fake_env)
    b = run(make_cfg(tmp_path / "subproc", "subproc=true", *common), env_factory=fake_env)
    assert a["num_timesteps"] == b["num_timesteps"] == 120
    assert (a["final_success_rate"], a["final_mean_length"]) == (b["final_success_rate"], b["final_mean_length"])


def test_ppo_expert_and_sparse_runs(tmp_path):
    common = ["task=line", "algo=ppo", "algo.n_steps=32", "algo.batch_size=32", "algo.n_epochs=1",
              "algo.net_arch=[16]", "max_episode_steps=20", "eval_every=0", "final_eval_episodes=2",
              "checkpoint_every=0", "tensorboard=false", "video=false", "total_steps=64"]
    res = run(make_cfg(tmp_path / "expert", "reward=expert", *common), env_factory=fake_env)
    assert res["num_timesteps"] == 64 and "eval_timesteps" not in res
    assert (tmp_path / "expert" / "checkpoints" / "model_64_steps.zip").is_file()
    res = run(make_cfg(tmp_path / "sparse", "reward=sparse", *common), env_factory=fake_env)
    assert res["reward"] == "sparse" and res["final_mean_length"] > 0


def _sim_available():
    try:
        from robo_reward.sim import make_env  # noqa: F401
    except Exception:
        return False
    return True


@pytest.mark.slow
@pytest.mark.skipif(not _sim_available(), reason="robo_reward.sim.make_env not available yet")
def test_reach_task_run_with_oracle_reward(tmp_path):
    cfg = make_cfg(tmp_path, "task=reach", "reward=learned", "reward_model_dir=oracle", "total_steps=200",
                   "algo.learning_starts=100", "algo.batch_size=32", "algo.net_arch=[32,32]", "max_episode_steps=50",
                   "eval_every=0", "final_eval_episodes=1", "checkpoint_every=0", "image_size=32",
                   "video_max_steps=20", "tensorboard=false")
    res = run(cfg)
    assert res["num_timesteps"] == 200 and Path(res["video"]).is_file()



def test_learned_reward_with_vecnormalize_evaluates(tmp_path):
    """VecNormalize over the learned-reward wrapper: periodic evaluation syncs the normalisation statistics
    (SB3 walks both wrapper chains in lock step; a missing level used to abort the run at the first eval)."""
    overrides = [o for o in TINY_SAC if not o.startswith(("checkpoint_", "final_"))]
    res = run(make_cfg(tmp_path, "total_steps=120", "normalize=true", "checkpoint_every=0", "final_eval_episodes=2",
                       "video=false", "tensorboard=false", *overrides), env_factory=fake_env)
    assert res["eval_timesteps"] == [100] and len(res["eval_success_rate"]) == 1
    assert (tmp_path / "checkpoints" / "model_vecnormalize_120_steps.pkl").is_file()
