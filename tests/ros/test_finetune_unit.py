"""SAC, replay buffer and the crash-safe run directory without ROS."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from robo_reward.real.finetune import RunDir
from robo_reward.real.sac import SAC, ReplayBuffer


def test_sac_learns_a_one_step_bandit() -> None:
    # reward = -(a - 0.5)^2, terminal: the mean action must move towards 0.5
    torch.set_num_threads(1)  # tiny MLPs: extra threads only add contention
    rng = np.random.default_rng(0)
    agent = SAC(1, 1, hidden=32, lr=3e-3, seed=0, device="cpu")
    buf = ReplayBuffer(2000, 1, 1)
    for _ in range(500):
        a = rng.uniform(-1, 1, 1)
        buf.add(np.zeros(1), a, -float((a[0] - 0.5) ** 2), np.zeros(1), True)
    for _ in range(300):
        agent.update(buf.sample(64, rng))
    assert abs(float(agent.act(np.zeros(1), deterministic=True)[0]) - 0.5) < 0.2


def test_run_dir_roundtrip_and_log_truncation(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    rng = np.random.default_rng(1)
    agent = SAC(3, 2, hidden=8, device="cpu")
    buf = ReplayBuffer(10, 3, 2)
    for i in range(4):
        buf.add(np.full(3, i), np.full(2, -i), float(i), np.full(3, i + 1), i == 3)
    for i in range(3):
        run.append_log({"episode": i, "success": i == 2})
    rng.random(5)
    run.save(agent, buf, episodes_done=2, total_steps=4, rng=rng)
    gen2 = run.save(agent, buf, episodes_done=2, total_steps=4, rng=rng)
    assert gen2 == 2 and sorted(p.name for p in tmp_path.glob("*-*")) == ["agent-2.pt", "replay-2.npz"]
    expected_next = rng.random()
    agent2 = SAC(3, 2, hidden=8, device="cpu", seed=7)
    rng2 = np.random.default_rng(99)
    resumed = run.resume(agent2, capacity=10, rng=rng2)
    assert resumed is not None
    info, buf2 = resumed
    assert (info.episodes_done, info.total_steps, buf2.size) == (2, 4, 4)
    np.testing.assert_array_equal(buf2.rew[:4], [0, 1, 2, 3])
    assert rng2.random() == expected_next
    for a, b in zip(agent.actor.parameters(), agent2.actor.parameters()):
        assert torch.equal(a, b)
    assert [r["episode"] for r in run.read_log()] == [0, 1]  # episode 2 was not checkpointed
    assert run.plot().stat().st_size > 1000
    with pytest.raises(ValueError, match="obs/act dims"):
        run.resume(SAC(4, 2, hidden=8, device="cpu"), 10, rng2)


def test_half_written_generation_is_ignored(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    agent, buf, rng = SAC(2, 1, hidden=8, device="cpu"), ReplayBuffer(5, 2, 1), np.random.default_rng(0)
    buf.add(np.zeros(2), np.zeros(1), 1.0, np.zeros(2), False)
    run.save(agent, buf, 1, 1, rng)
    # a crash after writing the next buffer but before latest.json: the stray file must not be used
    buf.add(np.zeros(2), np.zeros(1), 2.0, np.zeros(2), False)
    buf.save(tmp_path / "replay-2.npz")
    (tmp_path / ".agent-2.k3j4x9.pt").write_bytes(b"torn")  # atomic_path's temp file, killed mid-write
    assert json.loads((tmp_path / "latest.json").read_text())["generation"] == 1
    info, loaded = run.resume(SAC(2, 1, hidden=8, device="cpu"), 5, np.random.default_rng(0))  # type: ignore[misc]
    assert loaded.size == 1 and info.generation == 1
    # the next save overwrites the stray generation and removes the torn temp file
    assert run.save(agent, loaded, 1, 1, rng) == 2
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".pt", ".npz")) == ["agent-2.pt", "replay-2.npz"]
