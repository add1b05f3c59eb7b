"""The SB3 adapter: no stray logger folders when neither TensorBoard nor verbose output is asked for."""

import pytest
from rl_fakes import LineReachEnv
from stable_baselines3.common.vec_env import DummyVecEnv

from robo_reward.rl.config import AlgoConfig, AlgoName
from robo_reward.rl.learner import build_algo, load_algo


@pytest.mark.parametrize("name", [AlgoName.sac, AlgoName.ppo])
def test_quiet_learner_writes_no_logger_folder(tmp_path, monkeypatch, name):
    sb3_dir = tmp_path / "sb3_default_logdir"
    monkeypatch.setenv("SB3_LOGDIR", str(sb3_dir))  # where SB3's default logger would create its folder
    cfg = AlgoConfig(name=name, batch_size=16, net_arch=[16], learning_starts=10, n_steps=32, n_epochs=1)
    venv = DummyVecEnv([LineReachEnv])
    model = build_algo(cfg, venv, seed=0, device="cpu")
    model.learn(64)
    assert not sb3_dir.exists()
    model.save(tmp_path / "m.zip")
    load_algo(cfg, str(tmp_path / "m.zip"), venv, device="cpu").learn(32)
    assert not sb3_dir.exists()
    # asking for TensorBoard still writes event files
    tb = tmp_path / "tb"
    build_algo(cfg, venv, seed=0, device="cpu", tensorboard_log=str(tb)).learn(64)
    assert list(tb.rglob("events.out.tfevents.*"))
